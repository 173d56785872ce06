"""Tests of pyimcom.io.masks (permanent mask, GOODVAL conventions)."""

import re

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import ConfigError, InputFileError
from pyimcom.io.masks import read_permanent_mask

NY, NX = 6, 10


def _cube():
    """uint8 cube [18, NY, NX]: random 0/1 values, different in every SCA slice."""
    return np.random.default_rng(7).integers(0, 2, size=(18, NY, NX)).astype(np.uint8)


def _write(path, data, goodval=None):
    hdu = fits.PrimaryHDU(data)
    if goodval is not None:
        hdu.header["GOODVAL"] = goodval
    hdu.writeto(path)
    return str(path)


def test_default_nonzero_is_good(tmp_path):
    cube = _cube()
    path = _write(tmp_path / "pmask.fits", cube)
    for sca in (1, 5, 18):
        good = read_permanent_mask(path, sca)
        assert good.dtype == np.bool_ and good.shape == (NY, NX)
        npt.assert_array_equal(good, cube[sca - 1] != 0)


def test_goodval_zero_means_zero_is_good(tmp_path):
    cube = _cube()
    path = _write(tmp_path / "pmask.fits", cube, goodval=0)
    npt.assert_array_equal(read_permanent_mask(path, 5, shape=(NY, NX)), cube[4] == 0)


def test_other_goodval_means_nonzero_is_good(tmp_path):
    cube = _cube() * 3
    path = _write(tmp_path / "pmask.fits", cube, goodval=1)
    npt.assert_array_equal(read_permanent_mask(path, 2), cube[1] != 0)


def test_bad_layouts(tmp_path):
    wrong_n = _write(tmp_path / "n17.fits", np.ones((17, NY, NX), np.uint8))
    with pytest.raises(InputFileError, match=rf"{re.escape(wrong_n)}.*\(17, 6, 10\).*\(18, ny, nx\)"):
        read_permanent_mask(wrong_n, 1)
    flat = _write(tmp_path / "flat.fits", np.ones((NY, NX), np.uint8))
    with pytest.raises(InputFileError, match=re.escape(flat)):
        read_permanent_mask(flat, 1)
    good = _write(tmp_path / "good.fits", _cube())
    with pytest.raises(InputFileError, match=rf"{re.escape(good)}: image shape \(6, 10\); expected \(8, 8\)"):
        read_permanent_mask(good, 1, shape=(8, 8))
    with pytest.raises(ConfigError, match="SCA number"):
        read_permanent_mask(good, 19)
    missing = str(tmp_path / "missing.fits")
    with pytest.raises(InputFileError, match=re.escape(missing)):
        read_permanent_mask(missing, 1)
