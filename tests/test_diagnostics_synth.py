"""Synthetic block files for the diagnostic-report tests, and tests of the report's mosaic context.

`make_mosaic` writes a tiny mosaic with `pyimcom.io.block_output.write_block`: blocks of 4 x 32
output pixels of 0.055 arcsec plus one padding stamp, layers ``SCI``, ``gsstar16`` (unit-flux round
Gaussians of the target width at every HEALPix nside = 2**16 centre), ``nstar16,2e5,86,3`` (the same
stars times 2e5 plus Gaussian noise), ``whitenoise1`` (``sqrt(Sigma) * N(0, 1)``, so that its variance
is the SIGMA map), and maps U, S, N.  Star positions are computed here independently of
`pyimcom.diagnostics.starpos`: every HEALPix centre of a wide disc, projected with the geometry's
block WCS, is drawn.
"""

from __future__ import annotations

import json
import math
import os

import healpy as hp
import numpy as np
import pytest

from pyimcom.config import Config
from pyimcom.errors import InputFileError, PyIMCOMRangeError, PyIMCOMValueError
from pyimcom.geometry import MosaicGeometry, block_filename
from pyimcom.io.block_output import write_block

N1, N2, DTHETA_ARCSEC, RES = 4, 32, 0.055, 16
SIGMA_NATIVE = 0.9265329  # EXTRASMOOTH [native px]
SIGMA_OUT = SIGMA_NATIVE * 0.11 / DTHETA_ARCSEC  # target Gaussian sigma [output px]
EXTRA = ["gsstar16", "nstar16,2e5,86,3", "whitenoise1"]


def config_dict(root: str, nblock: int = 2, pad: int = 1, extra=None) -> dict:
    """A valid configuration of the synthetic mosaic (paths under ``root``; inputs never read)."""
    return {
        "OBSFILE": os.path.join(root, "obs.fits"),
        "INDATA": [root, "anlsim"],
        "FILTER": 2,
        "INPSF": [root, "anlsim", 8],
        "EXTRAINPUT": EXTRA if extra is None else extra,
        "CTR": [60.0, -4.0],
        "LONPOLE": 180.0,
        "BLOCK": nblock,
        "OUTSIZE": [N1, N2, DTHETA_ARCSEC],
        "FADE": 1,
        "PAD": pad,
        "PADSIDES": "all",
        "OUTMAPS": "USN",
        "OUT": os.path.join(root, "out", "syn_H"),
        "OUTPSF": "GAUSSIAN",
        "EXTRASMOOTH": SIGMA_NATIVE,
        "KAPPAC": [5e-4],
    }


def sigma_map(nside_p: int, ibx: int, iby: int) -> np.ndarray:
    """Smooth noise-amplification map Sigma of a block, 0.15 .. 0.25."""
    y, x = np.mgrid[0:nside_p, 0:nside_p] / nside_p
    return 0.2 + 0.05 * np.sin(2 * np.pi * (x + 0.3 * ibx)) * np.cos(np.pi * (y + 0.2 * iby))


def star_image(wcs, nside_p: int, cfg: Config) -> np.ndarray:
    """Unit-flux Gaussians (sigma = SIGMA_OUT) at all HEALPix centres near the block."""
    centre = wcs.all_pix2world([[nside_p / 2, nside_p / 2]], 0)[0]
    radius = math.radians(nside_p * cfg.dtheta_deg)  # generous: includes stars beyond the padding
    ipix = hp.query_disc(2**RES, hp.ang2vec(*centre, lonlat=True), radius)
    ra, dec = hp.pix2ang(2**RES, ipix, lonlat=True)
    xs, ys = wcs.all_world2pix(ra, dec, 0)
    y, x = np.mgrid[0:nside_p, 0:nside_p].astype(float)
    img = np.zeros((nside_p, nside_p))
    norm = 1.0 / (2 * np.pi * SIGMA_OUT**2)
    for x0, y0 in zip(xs, ys, strict=True):
        img += norm * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * SIGMA_OUT**2))
    return img


def layer_stack(names, wcs, nside_p, cfg, ibx, iby, rng) -> np.ndarray:
    """The coadded layers of one synthetic block, shape (1, n_layer, NsideP, NsideP)."""
    stars = star_image(wcs, nside_p, cfg)
    layers = [5.0 + rng.normal(0, 1, (nside_p, nside_p))]  # SCI
    for name in names:
        if name.startswith("gsstar"):
            layers.append(stars)
        elif name.startswith("nstar"):
            layers.append(2e5 * stars + rng.normal(0, 10, stars.shape))
        elif name.startswith("whitenoise"):
            layers.append(np.sqrt(sigma_map(nside_p, ibx, iby)) * rng.normal(size=stars.shape))
        else:
            layers.append(rng.normal(0, 2, stars.shape))
    return np.array(layers)[None]


def make_mosaic(root, nblock=2, pad=1, extra=None, skip=(), seed=11, nan_pixels=0) -> dict:
    """Write the synthetic mosaic under ``root``; returns paths, Config and geometry.

    ``skip`` lists ``(ibx, iby)`` blocks not written; ``nan_pixels`` NaN values go into layer 0 of
    block (0, 0).
    """
    root = os.fspath(root)
    cfg_json = json.dumps(config_dict(root, nblock, pad, extra), indent=4)
    cfg = Config(cfg_json)
    geo = MosaicGeometry(cfg.ra, cfg.dec, cfg.lonpole, cfg.nblock, cfg.layout, cfg.dtheta_deg, cfg.pad_sides)
    nside_p, n1p = cfg.NsideP, cfg.n1P
    rng = np.random.default_rng(seed)
    paths = {}
    for ibx in range(nblock):
        for iby in range(nblock):
            if (ibx, iby) in skip:
                continue
            layers = layer_stack(cfg.extrainput[1:], geo.block_wcs(ibx, iby), nside_p, cfg, ibx, iby, rng)
            if (ibx, iby) == (0, 0) and nan_pixels:
                layers[0, 0, pad * N2, pad * N2 : pad * N2 + nan_pixels] = np.nan
            inweight = np.zeros((1, 3, n1p, n1p))
            inweight[0, :2] = 0.5
            inweight[0, 2, 0, 0] = 0.5  # stamp (0, 0) has three images
            maps = {
                "U": np.full((1, nside_p, nside_p), 10 ** (-4.5)),
                "S": sigma_map(nside_p, ibx, iby)[None],
                "N": np.full((1, nside_p, nside_p), 3.3),
            }
            path = block_filename(cfg.outstem, ibx, iby)
            indata = {
                "obsid": [1, 2, 3],
                "sca": [1, 2, 3],
                "ra": [60.0] * 3,
                "dec": [-4.0] * 3,
                "pa": [0.0] * 3,
            }
            paths[(ibx, iby)] = write_block(
                path, layers=layers, maps=maps, inweight=inweight, indata=indata,
                config_json=cfg_json, block_header=geo.block_header(ibx, iby), filter_name="H158",
                ibx=ibx, iby=iby, passthrough={}, versions={p: "0" for p in ("numpy",)},
            )  # fmt: skip
    return {
        "root": root,
        "cfg": cfg,
        "geometry": geo,
        "paths": paths,
        "first": block_filename(cfg.outstem, 0, 0),
    }


# ---------------------------------------------------------------------------------------------- tests
def test_split_block_name():
    from pyimcom.diagnostics.context import split_block_name

    assert split_block_name("out/a_b_H_01_12.fits") == ("out/a_b_H", ".fits", 1, 12)
    assert split_block_name("x_00_03_map.fits") == ("x", "_map.fits", 0, 3)
    assert split_block_name("x_02_03.cpr.fits.gz") == ("x", ".cpr.fits.gz", 2, 3)
    with pytest.raises(PyIMCOMValueError, match=r"must end in _XX_YY.fits"):
        split_block_name("out/demo_H_1_2.fits")


def test_context_of_synthetic_mosaic(tmp_path):
    from pyimcom.diagnostics.context import ReportContext

    m = make_mosaic(tmp_path, skip=[(1, 1)])
    ctx = ReportContext.open(m["paths"][(1, 0)], str(tmp_path / "w" / "rep"), nblockmax=5)
    assert ctx.nblock == 2 and ctx.layer_names == ["SCI", *EXTRA]
    assert ctx.blocks() == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert ctx.missing_blocks == ((1, 1),) and len(ctx.present_blocks) == 3
    assert ctx.unique_slice == slice(N2, N2 + N1 * N2) and ctx.filter_name == "H158"
    assert ctx.data_path("x.png") == os.path.join(str(tmp_path / "w" / "rep_data"), "rep_x.png")
    (k, img), *_ = ctx.iter_unique_layers(0, 0, layers=[2])
    assert k == 2 and img.shape == (N1 * N2, N1 * N2) and img.dtype == np.float32
    with pytest.raises(PyIMCOMRangeError, match=r"ibx = 2 is outside 0..1"):
        ctx.block_path(2, 0)
    with pytest.raises(PyIMCOMValueError, match="nblockmax"):
        ReportContext.open(m["first"], str(tmp_path / "rep"), nblockmax=0)
    with pytest.raises(InputFileError, match="nope_00_00.fits"):
        ReportContext.open(str(tmp_path / "nope_00_00.fits"), str(tmp_path / "rep"))


def test_synthetic_stars_are_unit_gaussians(tmp_path):
    m = make_mosaic(tmp_path, nblock=1)
    cfg, geo = m["cfg"], m["geometry"]
    img = star_image(geo.block_wcs(0, 0), cfg.NsideP, cfg)
    # interior flux per star ~ 1: total flux over the image / number of stars well inside
    assert img.max() == pytest.approx(1 / (2 * np.pi * SIGMA_OUT**2), rel=0.05)


def test_compressed_block_is_refused(tmp_path):
    from astropy.io import fits

    from pyimcom.diagnostics.context import ReportContext

    m = make_mosaic(tmp_path, nblock=1)
    cpr = str(tmp_path / "syn_H_00_00.cpr.fits.gz")
    with fits.open(m["first"]) as hdul:
        table = fits.TableHDU.from_columns([fits.Column("text", "A20", array=np.array(["0001:BITKEEP:20"]))])
        table.name = "CPRESS"
        fits.HDUList([*hdul, table]).writeto(cpr)
    with pytest.raises(InputFileError, match=r"compressed block \(CPRESS HDU\).*decompress"):
        ReportContext.open(cpr, str(tmp_path / "rep"))


def test_content_rendering_and_data_block_parsing():
    from pyimcom.diagnostics.content import (
        FigureRef,
        Items,
        Paragraph,
        SectionResult,
        Verbatim,
        format_data_block,
        parse_data_blocks,
        tex_escape,
        to_tex,
    )

    assert (
        tex_escape("a_b 5% #1 {x} ~ ^ \\")
        == r"a\_b 5\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )
    tex = to_tex(
        [Paragraph("x & y"), Items(("n_1",), monospace=True), FigureRef("d/a_b.png", "c"), Verbatim("$$a")]
    )
    assert r"x \& y" in tex and r"\texttt{n\_1}" in tex and "{d/a_b.png}" in tex and "$$a" in tex
    text = "pre\n" + format_data_block("A", "1 2\n3") + "\n" + format_data_block("B", "") + "\npost"
    assert parse_data_blocks(text) == {"A": "1 2\n3", "B": ""}
    with pytest.raises(PyIMCOMValueError, match=r"data block 'C' has no '\$\$\$END C' line"):
        parse_data_blocks("$$$START C\n1\n")
    with pytest.raises(PyIMCOMValueError, match="status must be one of"):
        SectionResult("A", "a", status="OK")
