"""Tests of pyimcom.io.block_output (writer) and pyimcom.io.outimage (reader) of block output files."""

import json
import math
import os
import pickle
import re
import shutil

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import InputFileError, PyIMCOMError, PyIMCOMRangeError, PyIMCOMValueError, PyIMCOMWarning
from pyimcom.geometry import BlockLayout, MosaicGeometry, block_filename
from pyimcom.io import fitsutil
from pyimcom.io.block_output import flatten_inweight, version_keyword, write_block
from pyimcom.io.config_hdu import read_config_text
from pyimcom.io.logmaps import MAP_SPECS, map_spec
from pyimcom.io.outimage import OutImage, block_indices_from_name

NSIDE_P, N_OUT, N_LAYER, N_IMG, N1P = 40, 1, 3, 2, 4  # small synthetic block
IBX, IBY = 0, 1
MAP_RANGES = {"U": (1e-6, 1e-1), "S": (1e-2, 10.0), "K": (1e-8, 1e-2), "T": (0.8, 1.3), "N": (2.0, 15.0)}


def native(dtype):
    """The dtype in native byte order (FITS data come back big-endian)."""
    return dtype.newbyteorder("=")


def geometry():
    return MosaicGeometry(60.0504, -3.8, 240.0, 2, BlockLayout(4, 10), 0.04 / 3600)


def block_inputs(seed=3):
    rng = np.random.default_rng(seed)
    maps = {}
    for letter, (lo, hi) in MAP_RANGES.items():
        maps[letter] = 10 ** rng.uniform(np.log10(lo), np.log10(hi), size=(N_OUT, NSIDE_P, NSIDE_P))
    cfg = {"OUT": "out/demo_H", "FILTER": 2, "EXTRAINPUT": ["whitenoise1", "cstar14"], "MOSAIC": 7}
    return dict(
        layers=rng.normal(size=(N_OUT, N_LAYER, NSIDE_P, NSIDE_P)),
        maps=maps,
        inweight=rng.uniform(0, 1, size=(N_OUT, N_IMG, N1P, N1P)),
        indata={
            "obsid": np.array([101, 2000000]),
            "sca": np.array([3, 18]),
            "ra": np.array([60.01, 60.02]),
            "dec": np.array([-3.81, -3.79]),
            "pa": np.array([0.0, 120.5]),
        },
        config_json=json.dumps(cfg, indent=4),
        block_header=geometry().block_header(IBX, IBY),
        filter_name="H158",
        ibx=IBX,
        iby=IBY,
        passthrough={"TILESCHM": "demo", "RERUN": "r1", "MOSAIC": 7},
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    inputs = block_inputs()
    path = block_filename(str(tmp_path_factory.mktemp("blk") / "demo_H"), IBX, IBY)
    assert write_block(path, **inputs) == path
    return path, inputs


def test_hdu_order_dtypes_shapes(written):
    path, _ = written
    names = ["PRIMARY", "CONFIG", "INDATA", "INWEIGHT", "INWTFLAT", *MAP_SPECS]
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == names
        assert native(hdul[0].data.dtype) == np.float32
        assert hdul[0].data.shape == (N_OUT, N_LAYER, NSIDE_P, NSIDE_P)
        assert isinstance(hdul["CONFIG"], fits.TableHDU) and hdul["CONFIG"].columns.formats == ["A512"]
        assert isinstance(hdul["INDATA"], fits.BinTableHDU)
        assert native(hdul["INWEIGHT"].data.dtype) == np.float32
        assert hdul["INWEIGHT"].data.shape == (N_OUT, N_IMG, N1P, N1P)
        assert hdul["INWTFLAT"].data.shape == (N_OUT * N1P, N_IMG * N1P)
        for extname, spec in MAP_SPECS.items():
            assert native(hdul[extname].data.dtype) == spec.dtype  # uint16 comes back as uint16
            assert hdul[extname].data.shape == (N_OUT, NSIDE_P, NSIDE_P)
    with fits.open(path, do_not_scale_image_data=True) as raw:
        for extname, spec in MAP_SPECS.items():
            assert raw[extname].header["BITPIX"] == 16
            assert raw[extname].header.get("BZERO", 0) == (32768 if spec.dtype == np.uint16 else 0)


def test_headers(written):
    path, inputs = written
    block_header = inputs["block_header"]
    with fits.open(path) as hdul:
        for extname in ["PRIMARY", *MAP_SPECS]:
            header = hdul[extname].header
            for key in ("CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "CTYPE1", "CTYPE2", "CRVAL1", "LONPOLE"):
                assert header[key] == block_header[key], (extname, key)
        assert (hdul[0].header["CRPIX1"], hdul[0].header["CRPIX2"]) == (40.5, 0.5)
        for extname, spec in MAP_SPECS.items():
            assert hdul[extname].header["UNIT"] == spec.unit
            assert hdul[extname].header.comments["UNIT"] == spec.comment
        cfg = hdul["CONFIG"].header
    assert (cfg["TILESCHM"], cfg["RERUN"], cfg["MOSAIC"]) == ("demo", "r1", 7)
    assert cfg.comments["MOSAIC"] and cfg.comments["TILESCHM"]
    assert (cfg["FILTER"], cfg["BLOCKX"], cfg["BLOCKY"]) == ("H158", IBX, IBY)
    assert cfg["VNUMPY"] == np.__version__
    for key in ("VNUMPY", "VSCIPY", "VASTROPY", "VFITSIO", "VASDF", "VPYIMCOM", "VFURRY_P"):
        assert isinstance(cfg[key], str) and cfg[key]
    assert version_keyword("furry-parakeet") == "VFURRY_P"


def test_versions_override_and_filter_code(tmp_path):
    inputs = block_inputs()
    inputs.update(filter_name=2, passthrough={}, versions={"numpy": "9.9.9", "furry-parakeet": "0.1"})
    path = write_block(tmp_path / "b_00_01.fits", **inputs)
    cfg = fits.getheader(path, "CONFIG")
    assert (cfg["VNUMPY"], cfg["VFURRY_P"], cfg["FILTER"]) == ("9.9.9", "0.1", "H158")
    assert (cfg["TILESCHM"], cfg["RERUN"], cfg["MOSAIC"]) == ("Not_specified", "Not_specified", -1)


def test_inweight_and_inwtflat_layout(written):
    path, inputs = written
    inweight = inputs["inweight"].astype(np.float32)
    expected = np.zeros((N_OUT * N1P, N_IMG * N1P), dtype=np.float32)
    for o in range(N_OUT):
        for k in range(N_IMG):
            for jj in range(N1P):
                for ii in range(N1P):
                    expected[o * N1P + jj, k * N1P + ii] = inweight[o, k, jj, ii]
    with fits.open(path) as hdul:
        npt.assert_array_equal(hdul["INWEIGHT"].data, inweight)
        npt.assert_array_equal(hdul["INWTFLAT"].data, expected)
    npt.assert_array_equal(flatten_inweight(inputs["inweight"]), expected)
    img = OutImage(path)
    npt.assert_array_equal(img.inweight(), inweight)
    npt.assert_array_equal(img.inweight(j_out=0), inweight[0])
    npt.assert_array_equal(img.inweight(flat=True), expected)


def test_indata_and_config_text(written):
    path, inputs = written
    with fits.open(path) as hdul:
        cols = hdul["INDATA"].columns
        assert cols.names == ["obsid", "sca", "ra", "dec", "pa", "valid"]
        assert cols.formats == ["J", "I", "D", "D", "D", "L"]
        assert [cols[n].unit for n in ("ra", "dec", "pa")] == ["degree"] * 3
    table = OutImage(path).indata()
    for name in ("obsid", "sca", "ra", "dec", "pa"):
        npt.assert_array_equal(table[name], inputs["indata"][name])
    assert table["valid"].tolist() == [True, True] and str(table["ra"].unit) == "deg"
    assert read_config_text(path) == inputs["config_json"]
    assert OutImage(path).cfg_text == inputs["config_json"]


def test_outimage_accessors(written):
    path, inputs = written
    img = OutImage(path)
    assert (img.ibx, img.iby) == (IBX, IBY) and img.shape == (N_OUT, N_LAYER, NSIDE_P, NSIDE_P)
    assert img.layer_names == ["SCI", "whitenoise1", "cstar14"]
    layers32 = inputs["layers"].astype(np.float32)
    for index, name in enumerate(img.layer_names):
        for key in (index, name):
            out = img.get_coadded_layer(key)
            assert out.dtype == np.float32 and out.shape == (NSIDE_P, NSIDE_P)
            npt.assert_array_equal(out, layers32[0, index])
    npt.assert_array_equal(img.get_coadded_layer("cstar14", j_out=None), layers32[:, 2])
    for letter, x in inputs["maps"].items():
        spec = map_spec(letter)
        for key in (letter, spec.extname):
            decoded = img.get_output_map(key)
            assert decoded.dtype == np.float64 and decoded.shape == (NSIDE_P, NSIDE_P)
            step = math.log(10.0) / abs(spec.coef) / 2
            assert np.max(np.abs(np.log(decoded / x[0]))) <= step * (1 + 1e-9)
    w = img.wcs()
    assert w.naxis == 2 and w.pixel_shape == (NSIDE_P, NSIDE_P)
    ref = geometry().block_wcs(IBX, IBY)
    npt.assert_allclose(w.pixel_to_world_values(3.0, 7.0), ref.pixel_to_world_values(3.0, 7.0), rtol=1e-12)
    assert repr(img) == f"OutImage({path!r})"
    clone = pickle.loads(pickle.dumps(img))
    assert clone.path == path and clone.block_index == (IBX, IBY)


def test_outimage_errors(tmp_path):
    inputs = block_inputs()
    inputs["maps"] = {"U": inputs["maps"]["U"]}
    path = write_block(tmp_path / "demo_H_00_01.fits", **inputs)
    img = OutImage(path)
    with pytest.raises(InputFileError, match=rf"{re.escape(str(path))} has no SIGMA HDU"):
        img.get_output_map("S")
    with pytest.raises(PyIMCOMValueError, match=r"unknown output map 'Q'"):
        img.get_output_map("Q")
    with pytest.raises(PyIMCOMValueError, match=r"has no layer 'gsext14'.*'SCI', 'whitenoise1', 'cstar14'"):
        img.get_coadded_layer("gsext14")
    with pytest.raises(PyIMCOMRangeError, match=r"layer 3 is outside \[0, 3\)"):
        img.get_coadded_layer(3)
    with pytest.raises(PyIMCOMRangeError, match="j_out"):
        img.get_coadded_layer(0, j_out=1)
    missing = str(tmp_path / "nope_00_00.fits")
    with pytest.raises(InputFileError, match=re.escape(missing)):
        OutImage(missing).get_coadded_layer(0)


def test_legacy_map_name_and_unit(tmp_path, written):
    path, _ = written
    assert block_indices_from_name("a/b/demo_H_03_02_map.fits") == (3, 2)
    assert block_indices_from_name("demo_H_12_05.fits") == (12, 5)
    assert block_indices_from_name("demo_H.fits") is None
    legacy = str(tmp_path / "demo_H_03_02_map.fits")
    with fits.open(path) as hdul:
        del hdul["CONFIG"].header["BLOCKX"]
        del hdul["CONFIG"].header["BLOCKY"]
        hdul["FIDELITY"].header["UNIT"] = ("0.2mB", "-5000*log10(U/C)")  # legacy positive UNIT
        hdul.writeto(legacy)
    img = OutImage(legacy)
    assert (img.ibx, img.iby) == (3, 2)
    with pytest.warns(PyIMCOMWarning, match="legacy"):
        fidelity = img.get_output_map("FIDELITY")
    npt.assert_allclose(fidelity, OutImage(path).get_output_map("U"), rtol=0)
    shutil.copy(legacy, tmp_path / "unnamed.fits")
    with pytest.raises(InputFileError, match=r"unnamed\.fits.*BLOCKX/BLOCKY"):
        _ = OutImage(tmp_path / "unnamed.fits").ibx


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    inputs = block_inputs()
    path = tmp_path / "demo_H_00_01.fits"
    bad = dict(inputs, layers=inputs["layers"][0])
    with pytest.raises(PyIMCOMValueError, match="layers"):
        write_block(path, **bad)
    assert os.listdir(tmp_path) == []

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fitsutil.os, "replace", failing_replace)
    with pytest.raises(PyIMCOMError, match="disk full"):
        write_block(path, **inputs)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    write_block(path, **inputs)
    assert os.listdir(tmp_path) == ["demo_H_00_01.fits"]


@pytest.mark.parametrize(
    "change, pattern",
    [
        (
            {"layers": np.zeros((1, 3, 40))},
            r"layers must be .*\(n_out, n_layer, NsideP, NsideP\).*\(1, 3, 40\)",
        ),
        ({"layers": np.zeros((1, 3, 40, 38))}, r"layers must have square images"),
        (
            {"inweight": np.zeros((2, 2, 4, 4))},
            r"inweight must be .*\(1, \?, \?, \?\); got shape \(2, 2, 4, 4\)",
        ),
        ({"maps": {"S": np.zeros((1, 40, 39))}}, r"maps\['S'\] \(SIGMA\) must be .*\(1, 40, 40\)"),
        ({"maps": {"Z": np.zeros((1, 40, 40))}}, r"unknown output map 'Z'"),
        (
            {"indata": {"obsid": [1], "sca": [1], "ra": [0.0], "dec": [0.0], "pa": [0.0]}},
            r"column 'obsid'.*\(2,\)",
        ),
        ({"indata": {"obsid": [1, 2]}}, r"indata has no column 'sca'"),
        ({"passthrough": {"TILE": "x"}}, r"passthrough has unknown keys \['TILE'\]"),
        ({"block_header": {"CRPIX1": 1.0}}, r"block_header must be an astropy.io.fits.Header"),
        ({"ibx": -1}, r"ibx must be an integer >= 0"),
    ],
)
def test_validation_errors_name_the_array(tmp_path, change, pattern):
    inputs = dict(block_inputs(), **change)
    with pytest.raises(PyIMCOMValueError, match=pattern):
        write_block(tmp_path / "x_00_01.fits", **inputs)
    assert os.listdir(tmp_path) == []
