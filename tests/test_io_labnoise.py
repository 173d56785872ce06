"""Tests of pyimcom.io.labnoise and of the atomic writer in pyimcom.io.fitsutil."""

import os
import re

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import InputFileError, PyIMCOMError
from pyimcom.instrument import REFPIX_BORDER
from pyimcom.io import fitsutil
from pyimcom.io.fitsutil import atomic_write
from pyimcom.io.labnoise import labnoise_path, read_labnoise, write_labnoise

NSIDE = 64  # toy SCA size [pixels]


def test_labnoise_path():
    assert labnoise_path("/in", 12, 3) == "/in/labnoise/slope_12_3.fits"


def test_active_area_used_as_is(tmp_path):
    data = np.arange(NSIDE * NSIDE, dtype=np.float64).reshape(NSIDE, NSIDE)
    path = write_labnoise(labnoise_path(tmp_path, 0, 1), data)
    out = read_labnoise(path, nside=NSIDE)
    assert out.dtype == np.float32 and out.shape == (NSIDE, NSIDE)
    npt.assert_array_equal(out, data.astype(np.float32))


def test_raw_frame_is_cropped_by_reference_border(tmp_path):
    raw_side = NSIDE + 2 * REFPIX_BORDER
    raw = np.full((raw_side, raw_side), -999.0, dtype=np.float32)  # border marked
    interior = np.random.default_rng(5).normal(size=(NSIDE, NSIDE)).astype(np.float32)
    raw[REFPIX_BORDER:-REFPIX_BORDER, REFPIX_BORDER:-REFPIX_BORDER] = interior
    path = str(tmp_path / "slope_1_2.fits")
    fits.PrimaryHDU(raw).writeto(path)
    out = read_labnoise(path, nside=NSIDE)
    assert out.shape == (NSIDE, NSIDE)
    assert not np.any(out == -999.0)
    npt.assert_array_equal(out, interior)


def test_wrong_shape_and_missing_file(tmp_path):
    path = str(tmp_path / "slope_1_2.fits")
    fits.PrimaryHDU(np.zeros((70, 70), dtype=np.float32)).writeto(path)
    with pytest.raises(InputFileError, match=rf"{re.escape(path)}.*\(70, 70\).*\(64, 64\) or \(72, 72\)"):
        read_labnoise(path, nside=NSIDE)
    missing = str(tmp_path / "slope_9_9.fits")
    with pytest.raises(InputFileError, match=re.escape(missing)):
        read_labnoise(missing, nside=NSIDE)


def test_atomic_write_creates_dirs_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a" / "b" / "img.fits"
    atomic_write(fits.ImageHDU(np.ones((2, 2)), name="X"), path)
    with fits.open(path) as hdul:
        assert hdul[0].data is None and hdul["X"].data.sum() == 4
    assert os.listdir(path.parent) == ["img.fits"]
    with pytest.raises(PyIMCOMError, match=r"img\.fits already exists"):
        atomic_write(fits.PrimaryHDU(np.zeros(2)), path, overwrite=False)


def test_atomic_write_removes_temp_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "img.fits"
    atomic_write(fits.PrimaryHDU(np.ones(3)), path)

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fitsutil.os, "replace", failing_replace)
    with pytest.raises(PyIMCOMError, match=r"cannot write FITS file .*img\.fits: disk full"):
        atomic_write(fits.PrimaryHDU(np.zeros(3)), path)
    assert os.listdir(tmp_path) == ["img.fits"]  # temp removed, old file intact
    with fits.open(path) as hdul:
        npt.assert_array_equal(hdul[0].data, 1.0)
