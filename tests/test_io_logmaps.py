"""Tests of pyimcom.io.logmaps: the 16-bit log-scale encoding of the ancillary maps (core spec §5.1)."""

import math
import warnings

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import PyIMCOMValueError, PyIMCOMWarning
from pyimcom.io.logmaps import (
    MAP_EXTNAMES,
    MAP_SPECS,
    decode_log_map,
    encode_log_map,
    hdu_to_bels,
    map_spec,
    unit_to_bels,
)

# extname: (letter, coef, dtype, UNIT, comment) as tabulated in core spec §5.1
EXPECTED = {
    "FIDELITY": ("U", -5000, np.uint16, "-0.2mB", "-5000*log10(U/C)"),
    "SIGMA": ("S", -10000, np.int16, "-0.1mB", "-10000*log10(Sigma)"),
    "KAPPA": ("K", -5000, np.uint16, "-0.2mB", "-5000*log10(kappa)"),
    "INWTSUM": ("T", 200000, np.int16, "5uB", "200000*log10(Tsum)"),
    "EFFCOVER": ("N", 50000, np.uint16, "20uB", "50000*log10(Neff)"),
}


def test_map_specs_table():
    assert MAP_EXTNAMES == ("FIDELITY", "SIGMA", "KAPPA", "INWTSUM", "EFFCOVER")
    for extname, (letter, coef, dtype, unit, comment) in EXPECTED.items():
        spec = MAP_SPECS[extname]
        assert (spec.letter, spec.coef, spec.dtype, spec.unit, spec.comment) == (
            letter,
            coef,
            np.dtype(dtype),
            unit,
            comment,
        )
        assert map_spec(letter) is spec and map_spec(extname.lower()) is spec
        assert unit_to_bels(spec.unit) == pytest.approx(1.0 / coef, rel=1e-15)
    with pytest.raises(PyIMCOMValueError, match=r"unknown output map 'X'.*FIDELITY \(U\)"):
        map_spec("X")


@pytest.mark.parametrize("extname", list(EXPECTED))
def test_round_trip_within_quantisation_step(extname):
    spec = MAP_SPECS[extname]
    q_min, q_max = spec.q_range
    # Codes that decode to a non-zero value: all but the saturation code at the tiny-x end.
    lo, hi = (q_min, q_max - 1) if spec.coef < 0 else (q_min + 1, q_max)
    log_x = np.linspace(lo / spec.coef, hi / spec.coef, 20001)
    x = 10.0**log_x
    q = encode_log_map(x, extname)
    assert q.dtype == spec.dtype and q.shape == x.shape
    assert q.min() >= min(lo, hi) and q.max() <= max(lo, hi)
    back = decode_log_map(q, spec.unit, spec.comment)
    assert back.dtype == np.float64
    bels = unit_to_bels(spec.unit)
    step = math.log(10.0) * abs(bels) / 2  # half a quantisation step in ln(x)
    assert np.max(np.abs(np.log(back / x))) <= step * (1 + 1e-9)
    assert np.max(np.abs(back / x - 1)) <= math.expm1(step) * (1 + 1e-9)


def test_fidelity_and_kappa_ends():
    q = encode_log_map([1.0, 3.0, 0.1, 0.0, -1.0, np.nan, 1e-40], "FIDELITY")
    assert q.dtype == np.uint16
    assert q.tolist() == [0, 0, 5000, 65535, 65535, 65535, 65535]
    x = decode_log_map(q, "-0.2mB")
    assert x[0] == 1.0 and x[1] == 1.0  # x > 1 clips to q = 0, i.e. U/C = 1
    npt.assert_allclose(x[2], 0.1, rtol=1e-15)
    assert np.all(x[3:] == 0.0)  # saturation code decodes to exactly 0
    # smallest representable non-zero fidelity: 10**(-65534/5000)
    npt.assert_allclose(decode_log_map(np.uint16(65534), "-0.2mB"), 10 ** (-65534 / 5000), rtol=1e-12)
    assert encode_log_map(1e-3, "K") == 15000


def test_sigma_ends():
    q = encode_log_map([0.0, 1e-4, 1.0, 1e6], "SIGMA")
    assert q.dtype == np.int16 and q.tolist() == [32767, 32767, 0, -32768]
    x = decode_log_map(q, "-0.1mB")
    assert x[0] == 0.0 and x[1] == 0.0 and x[2] == 1.0
    npt.assert_allclose(x[3], 10**3.2768, rtol=1e-12)  # large side clips


def test_inwtsum_range():
    # representable range 10**(-32767/2e5) .. 10**(32767/2e5) = 0.686 .. 1.458 (spec: "0.686 ... 1.459")
    q = encode_log_map([0.5, 0.685, 0.686, 1.0, 1.458, 1.459, 5.0], "INWTSUM")
    assert q.dtype == np.int16
    assert q[0] == q[1] == -32768  # tiny end: saturation code
    assert q[2] > -32768 and q[3] == 0 and q[4] < 32767
    assert q[5] == q[6] == 32767  # large end clips
    x = decode_log_map(q, "5uB")
    assert x[0] == x[1] == 0.0
    npt.assert_allclose(x[2:5], [0.686, 1.0, 1.458], rtol=2e-5)
    npt.assert_allclose(x[5:], 10 ** (32767 / 200000), rtol=1e-12)
    npt.assert_allclose([10 ** (-32767 / 200000), 10 ** (32767 / 200000)], [0.686, 1.459], atol=1e-3)


def test_effcover_range():
    q = encode_log_map([0.5, 1.0, 2.0, 20.4, 25.0], "N")
    assert q.dtype == np.uint16 and q[0] == q[1] == 0 and q[4] == 65535
    x = decode_log_map(q, "20uB")
    assert x[0] == x[1] == 0.0  # n_eff = 1 is stored as the saturation code (reference behaviour)
    npt.assert_allclose(x[2:4], [2.0, 20.4], rtol=5e-5)
    npt.assert_allclose(x[4], 10 ** (65535 / 50000), rtol=1e-12)


def test_legacy_positive_unit_with_minus_comment():
    q = np.array([0, 5000, 65535], dtype=np.uint16)
    with pytest.warns(PyIMCOMWarning, match="legacy"):
        x = decode_log_map(q, "0.2mB", "-5000*log10(U/C)")
    npt.assert_allclose(x, [1.0, 0.1, 0.0], rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_log_map(q, "0.2mB", "5000*log10(x)")[1] == pytest.approx(10.0)
    hdu = fits.ImageHDU(q, name="FIDELITY")
    hdu.header["UNIT"] = ("0.2mB", "-5000*log10(U/C)")
    with pytest.warns(PyIMCOMWarning):
        assert hdu_to_bels(hdu) == -2e-4
    hdu.header["UNIT"] = ("-0.2mB", "-5000*log10(U/C)")
    assert hdu_to_bels(hdu) == -2e-4


@pytest.mark.parametrize(
    "unit, bels",
    [("-0.2mB", -2e-4), ("5uB", 5e-6), ("20uB", 2e-5), ("-0.1mB", -1e-4), (" 1e-4B ", 1e-4), ("+3nB", 3e-9)],
)
def test_unit_to_bels(unit, bels):
    assert unit_to_bels(unit) == bels


@pytest.mark.parametrize("unit", ["dB", "", "-0.2mb", "0.2kB", "abc", "0B", "1.2.3uB"])
def test_unparseable_unit(unit):
    with pytest.raises(PyIMCOMValueError, match=f"UNIT {unit!r}"):
        unit_to_bels(unit)
    with pytest.raises(PyIMCOMValueError, match=f"UNIT {unit!r}"):
        decode_log_map(np.zeros(2, dtype=np.uint16), unit)


def test_hdu_without_unit_and_float_codes():
    with pytest.raises(PyIMCOMValueError, match="'SIGMA' has no UNIT"):
        hdu_to_bels(fits.ImageHDU(np.zeros(2, dtype=np.int16), name="SIGMA"))
    with pytest.raises(PyIMCOMValueError, match="integer codes"):
        decode_log_map(np.zeros(2), "-0.2mB")
    assert decode_log_map([65535.0, 0.0], "-0.2mB", dtype=np.uint16).tolist() == [0.0, 1.0]
