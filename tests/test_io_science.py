"""Tests of pyimcom.io.science (science-image formats, WCS and pixels)."""

import re

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from pyimcom.errors import ConfigError, InputFileError
from pyimcom.io.science import format_tags, get_format, write_anlsim_image

NY, NX = 48, 64  # deliberately non-square to catch axis-order mistakes


def _sip_header():
    """TAN-SIP header cards of a toy SCA (0.11 arcsec pixels, noticeable 2nd-order distortion)."""
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    h["CRPIX1"], h["CRPIX2"] = (NX + 1) / 2, (NY + 1) / 2
    h["CRVAL1"], h["CRVAL2"] = 52.5, -28.1
    h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = -3.0e-5, 5.0e-6, 4.0e-6, 3.05e-5
    h["A_ORDER"], h["B_ORDER"] = 2, 2
    h["A_2_0"], h["A_1_1"], h["A_0_2"] = 2.0e-3, -1.0e-3, 5.0e-4
    h["B_2_0"], h["B_1_1"], h["B_0_2"] = -7.0e-4, 1.5e-3, 1.0e-3
    return h


def _image():
    rng = np.random.default_rng(3)
    return (100.0 + rng.normal(size=(NY, NX))).astype(np.float32)


def test_paths_have_no_zero_padding():
    anl = get_format("anlsim")
    assert anl.tag == "anlsim"
    assert anl.science_path("/in", "H158", 7, 3) == "/in/simple/Roman_WAS_simple_model_H158_7_3.fits"
    assert get_format("dc2_imsim").science_path("/in", "Y106", 12, 18) == "/in/simple/dc2_Y106_12_18.fits"
    assert set(format_tags()) == {"anlsim", "dc2_imsim"}
    with pytest.raises(ConfigError, match="SCA number"):
        anl.science_path("/in", "H158", 7, 19)


def test_l2_and_unknown_formats_raise():
    with pytest.raises(ConfigError, match="L2_2506.*not supported yet"):
        get_format("L2_2506")
    with pytest.raises(ConfigError, match="unknown INDATA format 'fancy'"):
        get_format("fancy")


@pytest.mark.parametrize("tag", ["anlsim", "dc2_imsim"])
def test_science_is_sci_minus_sky_mean(tmp_path, tag):
    fmt = get_format(tag)
    path = fmt.science_path(tmp_path, "J129", 5, 2)
    sci = _image()
    write_anlsim_image(path, sci, _sip_header(), sky_mean=97.25)
    out = fmt.read_science(path)
    assert out.dtype == np.float32 and out.shape == (NY, NX)
    npt.assert_allclose(out, sci.astype(np.float64) - 97.25, rtol=0, atol=1e-5)
    assert fmt.read_shape(path) == (NY, NX)
    assert fmt.read_header(path)["SKY_MEAN"] == 97.25
    with fits.open(path) as hdul:
        assert hdul[0].data is None
        assert hdul["SCI"].header["BITPIX"] == -32  # float32


def test_tan_sip_round_trip_matches_independent_wcs(tmp_path):
    fmt = get_format("anlsim")
    path = fmt.science_path(tmp_path, "H158", 1, 1)
    write_anlsim_image(path, _image(), _sip_header(), sky_mean=0.0)
    wcs = fmt.read_wcs(path)
    assert wcs.naxis == 2 and wcs.sip is not None
    reference = WCS(_sip_header())  # built independently from the same cards
    x = np.array([0.0, NX - 1.0, 10.0, 0.0, NX - 1.0])
    y = np.array([0.0, NY - 1.0, 33.0, NY - 1.0, 0.0])
    ra, dec = wcs.all_pix2world(x, y, 0)
    ra_ref, dec_ref = reference.all_pix2world(x, y, 0)
    npt.assert_allclose(ra, ra_ref, rtol=0, atol=1e-12)
    npt.assert_allclose(dec, dec_ref, rtol=0, atol=1e-12)
    # the SIP terms matter at the corners, so dropping them would fail the comparison above
    no_sip = WCS(_sip_header())
    no_sip.sip = None
    ra_lin, _ = no_sip.all_pix2world(x, y, 0)
    assert np.max(np.abs(ra_lin - ra_ref)) > 1e-6
    # 0-based convention: CRPIX (1-based) maps to CRVAL at pixel CRPIX - 1
    npt.assert_allclose(wcs.all_pix2world((NX + 1) / 2 - 1, (NY + 1) / 2 - 1, 0), [52.5, -28.1], atol=1e-12)


def test_write_accepts_wcs_object(tmp_path):
    path = str(tmp_path / "img.fits")
    write_anlsim_image(path, _image(), WCS(_sip_header()), sky_mean=1.0)
    wcs = get_format("anlsim").read_wcs(path)
    npt.assert_allclose(wcs.all_pix2world(3.0, 4.0, 0), WCS(_sip_header()).all_pix2world(3.0, 4.0, 0))


def test_missing_sky_mean_names_file_and_keyword(tmp_path):
    path = str(tmp_path / "nosky.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(_image(), name="SCI")]).writeto(path)
    with pytest.raises(InputFileError, match=rf"{re.escape(path)}.*SKY_MEAN"):
        get_format("anlsim").read_science(path)


def test_missing_and_malformed_files(tmp_path):
    fmt = get_format("anlsim")
    missing = str(tmp_path / "missing.fits")
    for reader in (fmt.read_science, fmt.read_wcs, fmt.read_shape, fmt.read_header):
        with pytest.raises(InputFileError, match=re.escape(missing)):
            reader(missing)
    no_sci = str(tmp_path / "nosci.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(_image(), name="ERR")]).writeto(no_sci)
    with pytest.raises(InputFileError, match=rf"{re.escape(no_sci)} has no HDU 'SCI'"):
        fmt.read_science(no_sci)
    cube = str(tmp_path / "cube.fits")
    hdu = fits.ImageHDU(np.zeros((2, 4, 4), np.float32), name="SCI")
    hdu.header["SKY_MEAN"] = 0.0
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(cube)
    with pytest.raises(InputFileError, match=rf"{re.escape(cube)}.*2-D"):
        fmt.read_science(cube)
    with pytest.raises(InputFileError, match=rf"{re.escape(cube)}.*2-D"):
        fmt.read_shape(cube)


def test_header_without_celestial_wcs(tmp_path):
    path = str(tmp_path / "nowcs.fits")
    write_anlsim_image(path, _image(), fits.Header(), sky_mean=0.0)
    with pytest.raises(InputFileError, match=rf"{re.escape(path)}.*celestial WCS"):
        get_format("anlsim").read_wcs(path)
