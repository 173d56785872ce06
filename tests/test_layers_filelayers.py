"""Tests of pyimcom.layers.filelayers (truth[,s] and skyerr) and their file-name broker."""

from __future__ import annotations

import os

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from pyimcom.engine.inputs import InputImage
from pyimcom.errors import ConfigError, InputFileError, PyIMCOMValueError
from pyimcom.io.science import get_format, write_anlsim_image, write_truth_image
from pyimcom.layers.build import LayerSettings, build_stack
from pyimcom.layers.filelayers import skyerr_layer, truth_layer

NY, NX = 24, 40  # non-square to catch axis swaps
F, OBSID, SCA = "H158", 17, 6


def _wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [60.0, -4.0]
    w.wcs.crpix = [(NX + 1) / 2, (NY + 1) / 2]
    w.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    return w


def _ramp(offset=0.0):
    yy, xx = np.mgrid[0:NY, 0:NX]
    return (offset + 0.37 * xx + 10.1 * yy + 0.013 * xx * yy).astype(np.float32)


def _write_dc2(path, sci, err, sky_mean, with_err=True):
    """Hand-made dc2_imsim file: empty primary, SCI (WCS, SKY_MEAN), ERR."""
    hdus = [
        fits.PrimaryHDU(),
        fits.ImageHDU(np.asarray(sci, np.float32), header=_wcs().to_header(), name="SCI"),
    ]
    hdus[1].header["SKY_MEAN"] = sky_mean
    if with_err:
        hdus.append(fits.ImageHDU(np.asarray(err, np.float32), name="ERR"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fits.HDUList(hdus).writeto(path)
    return path


def _image(path):
    return InputImage(OBSID, SCA, str(path), _wcs(), (NY, NX), (60.0, -4.0, 0.0), source=None)


def _settings(indir, fmt, extrainput):
    return LayerSettings(tuple(extrainput), fmt, F, ("", "anlsim", 8), None, 0.0, 3.0, indir=str(indir))


# ---- file-name broker ----------------------------------------------------------------------------


def test_truth_paths():
    assert get_format("anlsim").truth_path("/in", "H158", 7, 3) == "/in/truth/Roman_WAS_truth_H158_7_3.fits"
    assert get_format("dc2_imsim").truth_path("/in", "Y106", 12, 18) == "/in/truth/dc2_Y106_12_18.fits"
    with pytest.raises(PyIMCOMValueError, match="filter"):
        get_format("anlsim").truth_path("/in", "H999", 7, 3)
    with pytest.raises(ConfigError, match="SCA"):
        get_format("dc2_imsim").truth_path("/in", "H158", 7, 19)


# ---- truth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["anlsim", "dc2_imsim"])
def test_truth_layer_scaling(tmp_path, tag):
    fmt = get_format(tag)
    truth = _ramp(-3.0)
    write_truth_image(fmt.truth_path(tmp_path, F, OBSID, SCA), truth)
    one = truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX))
    assert one.dtype == np.float32 and one.shape == (NY, NX)
    npt.assert_array_equal(one, truth)
    for s in (2.5, -0.1, 0.0):
        got = truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX), scale=s)
        npt.assert_array_equal(got, (truth.astype(np.float64) * s).astype(np.float32))
    with pytest.raises(PyIMCOMValueError, match="scale"):
        truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX), scale=float("nan"))


def test_truth_layer_missing_file_names_it(tmp_path):
    """Deliberate difference from the reference (zeros): a missing truth file is an error."""
    fmt = get_format("anlsim")
    expected = fmt.truth_path(tmp_path, F, OBSID, SCA)
    with pytest.raises(InputFileError, match="Roman_WAS_truth_H158_17_6.fits") as info:
        truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX))
    assert expected in str(info.value)


def test_truth_layer_wrong_shape_or_empty(tmp_path):
    fmt = get_format("dc2_imsim")
    path = fmt.truth_path(tmp_path, F, OBSID, SCA)
    write_truth_image(path, np.zeros((NX, NY)))  # transposed
    with pytest.raises(InputFileError, match=r"shape \(40, 24\); expected shape \(24, 40\)"):
        truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX))
    os.remove(path)
    fits.PrimaryHDU().writeto(path)
    with pytest.raises(InputFileError, match="primary HDU has shape None"):
        truth_layer(fmt, tmp_path, F, OBSID, SCA, (NY, NX))


def test_build_stack_dispatches_truth(tmp_path):
    fmt = get_format("anlsim")
    sci_path = fmt.science_path(tmp_path, F, OBSID, SCA)
    write_anlsim_image(sci_path, _ramp(500.0), _wcs(), 500.0)
    write_truth_image(fmt.truth_path(tmp_path, F, OBSID, SCA), _ramp())
    stack, mask = build_stack(_image(sci_path), _settings(tmp_path, "anlsim", ["truth", "TRUTH,2"]))
    assert stack.shape == (3, NY, NX) and mask.all()
    npt.assert_array_equal(stack[1], _ramp())
    npt.assert_array_equal(stack[2], 2 * _ramp())
    npt.assert_allclose(stack[0], _ramp(), atol=1e-3)  # SCI - SKY_MEAN


# ---- skyerr --------------------------------------------------------------------------------------


def test_skyerr_on_dc2_file(tmp_path):
    fmt = get_format("dc2_imsim")
    path = fmt.science_path(tmp_path, F, OBSID, SCA)
    err = 86.25 + np.random.default_rng(4).normal(0.0, 9.3, (NY, NX))
    _write_dc2(path, _ramp(86.25), err, 86.25)
    got = skyerr_layer(fmt, path, (NY, NX))
    assert got.dtype == np.float32 and got.shape == (NY, NX)
    expected = (err.astype(np.float32).astype(np.float64) - 86.25).astype(np.float32)
    npt.assert_array_equal(got, expected)
    assert abs(got.mean()) < 2.0 and 8.0 < got.std() < 10.5
    # through the layer-stack dispatch, next to the science layer (SCI - SKY_MEAN)
    stack, _ = build_stack(_image(path), _settings(tmp_path, "dc2_imsim", ["skyerr"]))
    npt.assert_array_equal(stack[1], expected)
    npt.assert_allclose(stack[0], _ramp(), atol=1e-3)


def test_skyerr_format_without_err_hdu_is_a_config_error(tmp_path):
    fmt = get_format("anlsim")
    path = fmt.science_path(tmp_path, F, OBSID, SCA)
    write_anlsim_image(path, _ramp(), _wcs(), 1.0)
    with pytest.raises(ConfigError, match=r"'skyerr'.*'anlsim'.*dc2_imsim"):
        skyerr_layer(fmt, path, (NY, NX))
    with pytest.raises(ConfigError, match=r"'skyerr'.*'anlsim'"):
        build_stack(_image(path), _settings(tmp_path, "anlsim", ["skyerr"]))


def test_skyerr_malformed_dc2_files(tmp_path):
    fmt = get_format("dc2_imsim")
    path = os.path.join(tmp_path, "a", "noerr.fits")
    _write_dc2(path, _ramp(), None, 1.0, with_err=False)
    with pytest.raises(InputFileError, match=r"noerr.fits has no HDU 'ERR'"):
        skyerr_layer(fmt, path, (NY, NX))
    path = os.path.join(tmp_path, "b", "shape.fits")
    _write_dc2(path, _ramp(), np.zeros((NY, NX - 1)), 1.0)
    with pytest.raises(
        InputFileError, match=r"'ERR' has shape \(24, 39\); expected the 'SCI' shape \(24, 40\)"
    ):
        skyerr_layer(fmt, path, (NY, NX))
    path = os.path.join(tmp_path, "c", "nosky.fits")
    _write_dc2(path, _ramp(), _ramp(), 1.0)
    with fits.open(path, mode="update") as hdul:
        del hdul["SCI"].header["SKY_MEAN"]
    with pytest.raises(InputFileError, match="SKY_MEAN missing"):
        skyerr_layer(fmt, path, (NY, NX))
    with pytest.raises(InputFileError, match="missing.fits"):
        skyerr_layer(fmt, os.path.join(tmp_path, "missing.fits"), (NY, NX))
    path = os.path.join(tmp_path, "d", "ok.fits")
    _write_dc2(path, _ramp(), _ramp(), 1.0)
    with pytest.raises(InputFileError, match=r"expected \(24, 41\)"):
        skyerr_layer(fmt, path, (NY, NX + 1))
