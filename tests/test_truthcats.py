"""Tests of the truth catalogue (pyimcom/truthcats.py; layers spec §3, §1.5.3).

The expected values are computed independently: HEALPix centres from a brute-force healpy query
mapped through a mosaic-wide stereographic WCS built here from the spec formulae, galaxy shapes
measured on GalSim drawings, star positions measured on a coadded ``cstar`` layer.
"""

from __future__ import annotations

import json
import os

import galsim
import healpy as hp
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from pyimcom.cli import main
from pyimcom.config import Config
from pyimcom.errors import ConfigError, InputFileError
from pyimcom.io.config_hdu import config_table_hdu
from pyimcom.layers.galaxy_params import GsextOptions, galaxy_params, sky_shape_matrix
from pyimcom.truthcats import gen_truthcats, gen_truthcats_from_cfg

# the mosaic: 3 x 3 blocks of 2 x 2 stamps of 20 px at 0.5" (60" x 60"), PAD 1 stamp
NBLOCK, N1, N2, DTHETA_ARCSEC, PAD = 3, 2, 20, 0.5, 1
NSIDE_PX, NSIDEP_PX = N1 * N2, N1 * N2 + 2 * PAD * N2
# centre a few arcsec from the n = 4 HEALPix centre nearest (60, -4): TRUTH4 then has exactly one row
_RA4, _DEC4 = (float(v) for v in hp.pix2ang(16, hp.ang2pix(16, 60.0, -4.0, lonlat=True), lonlat=True))
CTR = (_RA4 + 1.7 / 3600 / np.cos(np.radians(_DEC4)), _DEC4 + 2.3 / 3600)
EXTRA = ["whitenoise1", "gsstar16", "cstar4", "cstar14", "nstar16,2e5,86,3", "gsext16,rot=30,shear=0.2:-0.3",
         "gsfdstar16,0.05", "GSEXT14,seed=7,n=2.5,hlr=0.3"]  # fmt: skip
POSITION_COLUMNS = {"Block": "S5", "Layer": "S160", "Res_hpix": "i8", "ra_hpix": "f8", "dec_hpix": "f8",
                    "pa_hpix": "f8", "ipix": "i8", "ipix_nest": "i8", "ibx": "i2", "iby": "i2", "x": "f8",
                    "y": "f8", "xi": "i4", "yi": "i4", "dx": "f8", "dy": "f8"}  # fmt: skip


def _config_dict(root: str, **overrides) -> dict:
    d = {"OBSFILE": f"{root}/in/obs.fits", "INDATA": [f"{root}/in", "anlsim"], "FILTER": 2,
         "INPSF": [f"{root}/in/psf", "anlsim", 8], "EXTRAINPUT": EXTRA, "CTR": list(CTR), "LONPOLE": 180.0,
         "BLOCK": NBLOCK, "OUTSIZE": [N1, N2, DTHETA_ARCSEC], "PAD": PAD, "PADSIDES": "all",
         "OUT": f"{root}/out/mos_H", "OUTPSF": "GAUSSIAN", "EXTRASMOOTH": 0.93, "INPAD": 1.0,
         "KAPPAC": [5e-4]}  # fmt: skip
    d.update(overrides)
    return d


def _stg_wcs(lonpole: float, crpix: float, dtheta_arcsec: float) -> WCS:
    """Stereographic WCS about CTR with the same CRPIX on both axes (spec §3.4), 0-based use."""
    w = WCS(naxis=2)
    w.wcs.ctype, w.wcs.crval, w.wcs.lonpole = ["RA---STG", "DEC--STG"], list(CTR), lonpole
    w.wcs.cdelt = [-dtheta_arcsec / 3600, dtheta_arcsec / 3600]
    w.wcs.crpix = [crpix, crpix]
    return w


def _block_wcs_by_hand(ibx: int, iby: int, lonpole: float = 180.0) -> WCS:
    w = _stg_wcs(lonpole, 0.0, DTHETA_ARCSEC)
    c0 = (NSIDEP_PX + 1) / 2
    w.wcs.crpix = [c0 - NSIDE_PX * (ibx - (NBLOCK - 1) / 2), c0 - NSIDE_PX * (iby - (NBLOCK - 1) / 2)]
    return w


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("truth"))
    cfg = Config(_config_dict(root))
    path = gen_truthcats_from_cfg(cfg)
    return root, cfg, path


def test_every_healpix_centre_of_the_mosaic_is_listed_once_in_its_block(catalogue):
    _, _, path = catalogue
    # brute force: every centre near the mosaic, mapped with one mosaic-wide WCS (global pixels)
    wcs = _stg_wcs(180.0, (NBLOCK * NSIDE_PX + 1) / 2, DTHETA_ARCSEC)
    for n in (4, 14, 16):
        cat = Table.read(path, hdu=f"TRUTH{n}")
        vec = hp.ang2vec(*CTR, lonlat=True)
        cand = hp.query_disc(2**n, vec, np.radians(80.0 / 3600) if n > 4 else np.radians(5.0), nest=True)
        X, Y = wcs.all_world2pix(*hp.pix2ang(2**n, cand, nest=True, lonlat=True), 0)
        Xi, Yi = np.rint(X).astype(int), np.rint(Y).astype(int)
        inside = (Xi >= 0) & (Xi < NBLOCK * NSIDE_PX) & (Yi >= 0) & (Yi < NBLOCK * NSIDE_PX)
        expected = dict(zip(cand[inside], zip(Xi[inside] // NSIDE_PX, Yi[inside] // NSIDE_PX, strict=True),
                            strict=True))  # fmt: skip
        assert len(cat) == len(expected) and len(set(cat["ipix_nest"])) == len(cat)
        pix_area_arcsec2 = hp.nside2pixarea(2**n, degrees=True) * 3600**2
        mosaic_area_arcsec2 = (NBLOCK * NSIDE_PX * DTHETA_ARCSEC) ** 2
        assert len(cat) == (1 if n == 4 else pytest.approx(mosaic_area_arcsec2 / pix_area_arcsec2, rel=0.15))
        for row in cat:
            assert expected[row["ipix_nest"]] == (row["ibx"], row["iby"])
            assert row["Block"] == f"{row['ibx']:02d}_{row['iby']:02d}"
        lo, hi = PAD * N2, NSIDEP_PX - PAD * N2
        assert np.all((cat["xi"] >= lo) & (cat["xi"] < hi) & (cat["yi"] >= lo) & (cat["yi"] < hi))
        assert np.array_equal(hp.nest2ring(2**n, cat["ipix_nest"]), cat["ipix"])
        assert np.all(cat["Res_hpix"] == n)  # tables of n = 4, 14, 16 are not merged
        # rows block after block, ibx fastest (reference order)
        order = np.asarray(cat["iby"], int) * NBLOCK + np.asarray(cat["ibx"], int)
        assert np.all(np.diff(order) >= 0)


def test_columns_dtypes_and_header_keywords(catalogue):
    _, _, path = catalogue
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "TRUTH4", "TRUTH14", "TRUTH16"]
        assert hdul[0].data.shape == (2, 2) and hdul[0].data.dtype.kind == "f" and not hdul[0].data.any()
        assert "truth tables" in str(hdul[0].header["COMMENT"])
        for n in (4, 14, 16):
            hdr = hdul[f"TRUTH{n}"].header
            assert hdr["RESOLUTI"] == f"TRUTH{n}" and hdr["FILTER"] == "H158"
            assert hdr["INBLKPTH"].endswith("out/mos_H_00_00.fits")
            assert [hdr[f"LYR{i}"] for i in range(len(EXTRA) + 1)] == [""] + EXTRA
            assert hdr["BLKASSGN"] == "RINT_UNIQUE" and hdr["PIXORIG"] == 0
            assert "unique region" in str(hdr["COMMENT"])
            assert not [k for k in hdr if k.startswith("TNULL")]
    t16 = Table.read(path, hdu="TRUTH16")
    extra16 = ["sersic_r_L6", "g1_L6", "g2_L6", "sersic_n_L6", "fdm_amp_L7"]
    assert t16.colnames == list(POSITION_COLUMNS) + extra16
    for name, dtype in list(POSITION_COLUMNS.items()) + [(c, "f8") for c in extra16]:
        got, want = t16[name].dtype, np.dtype(dtype)  # FITS strings read back as bytes (5A -> S5)
        assert (got.kind, got.itemsize) == (want.kind, want.itemsize), name
    assert np.all(t16["Layer"] == "gsfdstar16,0.05") and np.all(t16["fdm_amp_L7"] == 0.05)
    t14 = Table.read(path, hdu="TRUTH14")
    assert t14.colnames == list(POSITION_COLUMNS) + ["sersic_r_L8", "g1_L8", "g2_L8", "sersic_n_L8"]
    assert np.all(t14["sersic_n_L8"] == 2.5) and np.allclose(t14["sersic_r_L8"], 0.3, rtol=1e-12)
    assert Table.read(path, hdu="TRUTH4").colnames == list(POSITION_COLUMNS)
    dx, dy = np.asarray(t16["dx"]), np.asarray(t16["dy"])
    assert np.all(np.abs(dx) <= 0.5) and np.all(np.abs(dy) <= 0.5)


def test_catalogue_does_not_depend_on_block_files(catalogue, tmp_path):
    _, cfg, path = catalogue
    fake = fits.PrimaryHDU(np.ones((1, 1, 8, 8), dtype=np.float32))
    fake.header.update(_stg_wcs(90.0, 3.0, 7.0).to_header())  # a wrong WCS: must not be read
    fake.writeto(f"{cfg.outstem}_00_00.fits")
    fake.writeto(f"{cfg.outstem}_01_02.fits")
    try:
        again = gen_truthcats_from_cfg(cfg, tmp_path / "again.fits")
    finally:
        os.remove(f"{cfg.outstem}_00_00.fits")
        os.remove(f"{cfg.outstem}_01_02.fits")
    for n in (4, 14, 16):
        a, b = Table.read(path, hdu=f"TRUTH{n}"), Table.read(again, hdu=f"TRUTH{n}")
        assert a.colnames == b.colnames and all(np.array_equal(a[c], b[c]) for c in a.colnames)


def test_pixel_positions_map_back_to_the_healpix_centres(catalogue):
    _, _, path = catalogue
    cat = Table.read(path, hdu="TRUTH16")
    for row in cat[::17]:
        ra, dec = _block_wcs_by_hand(int(row["ibx"]), int(row["iby"])).all_pix2world(row["x"], row["y"], 0)
        v_pix = hp.ang2vec(float(ra), float(dec), lonlat=True)
        v_hp = hp.pix2vec(2**16, int(row["ipix_nest"]), nest=True)
        sep_px = np.degrees(np.linalg.norm(np.cross(v_pix, v_hp))) * 3600 / DTHETA_ARCSEC  # small angles
        assert sep_px < 1e-6
        assert (row["xi"], row["yi"]) == (np.rint(row["x"]), np.rint(row["y"]))


@pytest.mark.parametrize("lonpole", [180.0, 240.0])
def test_pa_hpix_gives_the_north_direction(tmp_path, lonpole):
    cfg = Config(_config_dict(str(tmp_path), LONPOLE=lonpole, EXTRAINPUT=["gsstar15"]))
    cat = Table.read(gen_truthcats_from_cfg(cfg), hdu="TRUTH15")
    pa = np.asarray(cat["pa_hpix"])
    assert np.all((pa >= 0) & (pa < 360))
    if lonpole == 180.0:  # North up: pa ~ 0 (meridians converge slightly away from the centre)
        assert np.all(np.minimum(pa, 360 - pa) < 0.05)
    for row, p in zip(cat, pa, strict=True):  # a step along pa moves North in the block WCS
        w = _block_wcs_by_hand(int(row["ibx"]), int(row["iby"]), lonpole)
        step = 2.0 * np.array([np.sin(np.radians(p)), np.cos(np.radians(p))])
        (ra0, dec0), (ra1, dec1) = w.all_pix2world(
            [[row["x"], row["y"]], [row["x"] + step[0], row["y"] + step[1]]], 0
        )
        assert (dec1 - dec0) * 3600 == pytest.approx(2.0 * DTHETA_ARCSEC, rel=1e-4)
        assert abs((ra1 - ra0) * np.cos(np.radians(dec0))) * 3600 < 1e-4


def test_galaxy_columns_are_keyed_by_the_nested_index(catalogue):
    _, _, path = catalogue
    cat = Table.read(path, hdu="TRUTH16")
    opts = GsextOptions(rot_deg=30.0, shear=(0.2, -0.3))
    nest = galaxy_params(16, np.asarray(cat["ipix_nest"]), opts)
    ring = galaxy_params(16, np.asarray(cat["ipix"]), opts)
    np.testing.assert_allclose(cat["sersic_r_L6"], nest["hlr_arcsec"], rtol=1e-12)
    assert np.all(cat["sersic_n_L6"] == 1.0)
    assert np.mean(np.isclose(cat["sersic_r_L6"], ring["hlr_arcsec"], rtol=1e-6)) < 0.05
    # rotation by 30 deg and the shear change g; with neither, g is the intrinsic g of the stream
    assert not np.allclose(cat["g1_L6"], nest["g1"], atol=1e-3)


def _moments(img: np.ndarray, scale: float) -> tuple[float, float, float]:
    """Unweighted (g1, g2) and area-equivalent half-light radius [arcsec] of a drawn profile."""
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]] * scale
    f = img.sum()
    dx, dy = xx - (img * xx).sum() / f, yy - (img * yy).sum() / f
    qxx, qyy, qxy = ((img * a * b).sum() / f for a, b in ((dx, dx), (dy, dy), (dx, dy)))
    e = complex(qxx - qyy, 2 * qxy) / (qxx + qyy)
    g = e / (1 + np.sqrt(1 - abs(e) ** 2))
    # elliptical radius in the measured shape, normalised to unit determinant (area-equivalent)
    det = qxx * qyy - qxy**2
    inv = np.array([[qyy, -qxy], [-qxy, qxx]]) / np.sqrt(det)
    rho = np.sqrt(inv[0, 0] * dx**2 + 2 * inv[0, 1] * dx * dy + inv[1, 1] * dy**2).ravel()
    order = np.argsort(rho)
    cum = np.cumsum(img.ravel()[order]) / f
    return g.real, g.imag, float(np.interp(0.5, cum, rho[order]))


@pytest.mark.parametrize(
    "layer, recipe", [(6, "gsext16,rot=30,shear=0.2:-0.3"), (8, "gsext14,seed=7,n=2.5,hlr=0.3")]
)
def test_galaxy_columns_describe_the_drawn_galaxy(catalogue, layer, recipe):
    """g1, g2, sersic_r of a few galaxies against moments of the galaxy drawn alone (sky frame)."""
    _, _, path = catalogue
    n_res = int(recipe[5:7])
    opts = GsextOptions.from_recipe([tuple(o.split("=")) for o in recipe.split(",")[1:]], recipe)
    cat = Table.read(path, hdu=f"TRUTH{n_res}")[:4]
    params = galaxy_params(n_res, np.asarray(cat["ipix_nest"]), opts)
    for row, p in zip(cat, params, strict=True):
        m = sky_shape_matrix(p["g1"], p["g2"], opts)
        hlr = float(p["hlr_arcsec"])
        prof = galsim.Sersic(float(p["sersic_n"]), half_light_radius=hlr, trunc=8 * hlr).transform(*m.ravel())
        scale = hlr / 20
        npx = 2 * int(np.ceil(8 * hlr * np.linalg.norm(m, 2) / scale + 4))
        img = prof.drawImage(nx=npx, ny=npx, scale=scale, method="no_pixel").array.astype(np.float64)
        g1, g2, r_half = _moments(img, scale)
        assert (row[f"g1_L{layer}"], row[f"g2_L{layer}"]) == pytest.approx((g1, g2), abs=5e-4)
        assert row[f"sersic_r_L{layer}"] == pytest.approx(r_half, rel=5e-3)
        if opts.rot_deg is not None:  # the reference's composition is measurably different
            gi = complex(p["g1"], p["g2"]) * np.exp(2j * np.radians(opts.rot_deg))
            gt = complex(*opts.shear)
            g_ref = (gi + gt) / (1 + gt.conjugate() * gi)
            assert abs(g_ref - complex(g1, g2)) > 4e-3


def test_legacy_call_form_and_cli(catalogue, tmp_path):
    root, cfg, path = catalogue
    ref = Table.read(path, hdu="TRUTH16")
    # [name, filter, in_prefix, outstem]: the configuration comes from the CONFIG HDU of block (0, 0)
    block0 = tmp_path / "blk_H_00_00.fits"
    fits.HDUList([fits.PrimaryHDU(), config_table_hdu(cfg.to_file(None))]).writeto(block0)
    out = gen_truthcats([None, "H", str(tmp_path / "blk_"), str(tmp_path / "legacy_")])
    assert out == str(tmp_path / "legacy_TruthCat_H.fits")
    assert np.array_equal(Table.read(out, hdu="TRUTH16")["ipix"], ref["ipix"])
    assert gen_truthcats([None, 2, "unused", ""], cfg=cfg) == f"{cfg.outstem}_TruthCat.fits"
    with pytest.raises(ConfigError, match="FILTER"):
        gen_truthcats([None, "J", "unused", ""], cfg=cfg)
    with pytest.raises(InputFileError, match="nowhere_00_00"):
        gen_truthcats([None, 2, str(tmp_path / "nowhere"), ""])
    cfg_path = tmp_path / "mos.json"
    cfg.to_file(cfg_path)
    assert main(["-q", "truthcat", str(cfg_path), "-o", str(tmp_path / "cli.fits")]) == 0
    assert np.array_equal(
        Table.read(tmp_path / "cli.fits", hdu="TRUTH14")["x"], Table.read(path, hdu="TRUTH14")["x"]
    )


# ---------------------------------------------------------------------------- star acceptance
SIGMA_NATIVE = 0.9265329  # target Gaussian sigma [native pixels]
DTHETA_STAR_ARCSEC = 0.04  # output pixel scale of the star block [arcsec]


def _star_block_centre() -> list[float]:
    """Midpoint of two adjacent n = 17 HEALPix centres (1.6" apart) near (60, -4) [deg]."""
    nside = 2**17
    ipix = hp.ang2pix(nside, 60.0, -4.0, lonlat=True)
    ne = hp.get_all_neighbours(nside, ipix)[4]
    vec = np.add(hp.pix2vec(nside, ipix), hp.pix2vec(nside, ne))
    return [float(v[0]) for v in hp.vec2ang(vec / np.linalg.norm(vec), lonlat=True)]


@pytest.fixture(scope="module")
def cstar_block(tmp_path_factory):
    """A noise-free 1-block mosaic (2 x 2 stamps, 64 x 64 px of 0.04") coadded with a cstar17 layer."""
    from pyimcom.coadd import Block
    from pyimcom.io.outimage import OutImage
    from pyimcom.settings import target_area
    from pyimcom.simulate import SurveySettings, simulate_survey
    from pyimcom.simulate.scene import Catalog

    root = str(tmp_path_factory.mktemp("cstar"))
    ctr = _star_block_centre()
    d = {"OBSFILE": f"{root}/in/obs.fits", "INDATA": [f"{root}/in", "anlsim"], "FILTER": 2,
         "INPSF": [f"{root}/in/psf", "anlsim", 8], "EXTRAINPUT": ["cstar17"], "CTR": ctr, "BLOCK": 1,
         "OUTSIZE": [2, 32, DTHETA_STAR_ARCSEC], "FADE": 1, "PAD": 0, "OUT": f"{root}/out/star",
         "OUTPSF": "GAUSSIAN", "EXTRASMOOTH": SIGMA_NATIVE, "NPIXPSF": 32, "INPAD": 0.8,
         "KAPPAC": [5e-4]}  # fmt: skip
    cfg = Config(json.dumps(d))
    settings = SurveySettings(seed=3, n_passes=2, dithers_per_pass=2, sca_nside=256, psf_nside_os=128,
                              object_margin_arcsec=1.0, aberration_waves=0.0)  # fmt: skip
    one = np.ones(1)  # one science star; the cstar layer holds the HEALPix grid
    star = Catalog(one * ctr[0], one * ctr[1], np.zeros(1, int), one, 0 * one, 0 * one, 0 * one)
    simulate_survey(settings, target_area(cfg), f"{root}/in", noise=False, catalog=star)
    out = OutImage(Block(cfg=cfg, this_sub=0).path)
    return cfg, out.get_coadded_layer(1).astype(np.float64)


def _adaptive_centroid(img: np.ndarray, x: float, y: float, sigma: float, half: int = 10):
    """Centroid with a circular Gaussian weight re-centred until it converges (unbiased for a
    symmetric star; neighbours 40 px away get no weight)."""
    for _ in range(60):
        ix, iy = int(round(x)), int(round(y))
        yy, xx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1]
        w = img[iy - half : iy + half + 1, ix - half : ix + half + 1] * np.exp(
            -((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)
        )
        x, y = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
    return x, y


def test_catalogued_star_positions_match_the_coadded_cstar_layer(cstar_block):
    """Listed (x, y) = centroid of the star in the coadded cstar layer within 0.02 output px."""
    cfg, img = cstar_block
    cat = Table.read(gen_truthcats_from_cfg(cfg), hdu="TRUTH17")
    sigma_out = SIGMA_NATIVE * 0.11 / DTHETA_STAR_ARCSEC  # target Gaussian sigma [output px]
    half = 10
    ny, nx = img.shape
    inner = cat[(cat["xi"] >= half) & (cat["xi"] < nx - half) & (cat["yi"] >= half) & (cat["yi"] < ny - half)]
    assert len(inner) >= 2
    for row in inner:
        win = img[row["yi"] - half : row["yi"] + half + 1, row["xi"] - half : row["xi"] + half + 1]
        assert win.sum() * (DTHETA_STAR_ARCSEC / 0.11) ** 2 == pytest.approx(1.0, abs=0.01)  # unit flux
        centroid = _adaptive_centroid(img, float(row["xi"]), float(row["yi"]), sigma_out, half)
        assert centroid == pytest.approx((row["x"], row["y"]), abs=0.02)
