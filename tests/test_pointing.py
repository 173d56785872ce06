"""WFI local field angles of a pointing (core spec §3.7), checked against astropy offset frames."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from pyimcom.pointing import field_to_sky, sky_to_field

# (ra0, dec0) pointings including high |dec| and the RA wrap at 0/360
POINTINGS = [(10.0, 0.0), (359.8, -5.0), (0.15, 30.0), (200.0, 80.0), (123.4, -80.0), (60.05, -3.8)]


def random_points_near(ra0: float, dec0: float, n: int, max_sep_deg: float, seed: int):
    """Points up to ``max_sep_deg`` from (ra0, dec0) in random directions (built with astropy)."""
    rng = np.random.default_rng(seed)
    c0 = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    sep = rng.uniform(0.0, max_sep_deg, n) * u.deg
    pa = rng.uniform(0.0, 360.0, n) * u.deg
    pts = c0.directional_offset_by(pa, sep)
    return pts.ra.deg, pts.dec.deg


def field_from_astropy(ra_deg, dec_deg, ra0: float, dec0: float, pa_deg: float):
    """Orthographic field angles from astropy's (east, north) offsets, rotated by PA (hand formula).

    In the offset frame centred on the pointing a point at (lon, lat) projects orthographically to
    east = cos(lat) sin(lon), north = sin(lat); then X = -cos(PA) east + sin(PA) north,
    Y = sin(PA) east + cos(PA) north (+X is west at PA = 0).
    """
    c0 = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    dlon, dlat = c0.spherical_offsets_to(SkyCoord(ra_deg * u.deg, dec_deg * u.deg))
    lon, lat = dlon.rad, dlat.rad
    east, north = np.cos(lat) * np.sin(lon), np.sin(lat)
    pa = np.radians(pa_deg)
    x = -np.cos(pa) * east + np.sin(pa) * north
    y = np.sin(pa) * east + np.cos(pa) * north
    return np.degrees(x), np.degrees(y), (dlon.deg, dlat.deg)


@pytest.mark.parametrize(("ra0", "dec0"), POINTINGS)
def test_sky_field_sky_round_trip(ra0, dec0):
    rng = np.random.default_rng(int(ra0 * 10 + dec0))
    for pa in rng.uniform(0.0, 360.0, 4):
        ra, dec = random_points_near(ra0, dec0, 200, 0.5, seed=int(pa * 1000))
        X, Y, front = sky_to_field(ra, dec, ra0, dec0, pa)
        assert X.shape == Y.shape == front.shape == (200,) and front.all()
        assert np.all(np.hypot(X, Y) <= 0.5 + 1e-12)  # orthographic radius sin(sep) <= sep
        ra2, dec2 = field_to_sky(X, Y, ra0, dec0, pa)
        assert np.all((ra2 >= 0.0) & (ra2 < 360.0))
        npt.assert_allclose(dec2, dec, rtol=0, atol=1e-9)
        dra = (ra2 - ra + 180.0) % 360.0 - 180.0  # RA difference across the wrap
        npt.assert_allclose(dra * np.cos(np.radians(dec)), 0.0, rtol=0, atol=1e-9)
        sep = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg)).deg
        assert np.all(sep < 1e-9)


@pytest.mark.parametrize(("ra0", "dec0"), POINTINGS)
def test_field_sky_field_round_trip(ra0, dec0):
    rng = np.random.default_rng(3)
    X = rng.uniform(-0.35, 0.35, 300)
    Y = rng.uniform(-0.35, 0.35, 300)
    for pa in (0.0, 37.5, 90.0, 181.0, 300.0):
        ra, dec = field_to_sky(X, Y, ra0, dec0, pa)
        X2, Y2, front = sky_to_field(ra, dec, ra0, dec0, pa)
        assert front.all()
        npt.assert_allclose(X2, X, rtol=0, atol=1e-10)
        npt.assert_allclose(Y2, Y, rtol=0, atol=1e-10)


def test_field_centre_maps_to_pointing():
    for ra0, dec0 in POINTINGS:
        X, Y, front = sky_to_field(ra0, dec0, ra0, dec0, 47.0)
        assert abs(float(X)) < 1e-12 and abs(float(Y)) < 1e-12 and bool(front)
        ra, dec = field_to_sky(0.0, 0.0, ra0, dec0, 47.0)
        assert float(ra) == pytest.approx(ra0 % 360.0, abs=1e-10)
        assert float(dec) == pytest.approx(dec0, abs=1e-10)


@pytest.mark.parametrize(("ra0", "dec0"), [(10.0, 0.0), (0.01, -30.0), (250.0, 75.0)])
def test_directions_pa0_north_is_y_east_is_minus_x(ra0, dec0):
    d = 0.01
    X, Y, _ = sky_to_field(ra0, dec0 + d, ra0, dec0, 0.0)  # slightly north
    assert float(Y) > 0.0 and float(Y) == pytest.approx(d, rel=1e-6) and abs(float(X)) < 1e-12
    ra_east = (ra0 + d / np.cos(np.radians(dec0))) % 360.0  # slightly east: higher RA
    X, Y, _ = sky_to_field(ra_east, dec0, ra0, dec0, 0.0)
    assert float(X) < 0.0 and float(X) == pytest.approx(-d, rel=1e-4)  # +X points west
    # only the curvature of the parallel: it bends poleward by d^2 tan(dec0) / 2 [rad]
    bend_deg = np.degrees(np.radians(d) ** 2 / 2 * np.tan(np.radians(dec0)))
    assert float(Y) == pytest.approx(bend_deg, rel=1e-2, abs=1e-12)


def test_directions_pa90_east_is_y():
    ra0, dec0, d = 120.0, 20.0, 0.02
    ra_east = ra0 + d / np.cos(np.radians(dec0))
    X, Y, _ = sky_to_field(ra_east, dec0, ra0, dec0, 90.0)
    assert float(Y) == pytest.approx(d, rel=1e-4) and abs(float(X)) < 1e-5
    X, Y, _ = sky_to_field(ra0, dec0 + d, ra0, dec0, 90.0)  # north -> +X at PA = 90
    assert float(X) == pytest.approx(d, rel=1e-6) and abs(float(Y)) < 1e-12
    X, Y, _ = sky_to_field(ra0, dec0 + d, ra0, dec0, 180.0)  # north -> -Y at PA = 180
    assert float(Y) == pytest.approx(-d, rel=1e-6) and abs(float(X)) < 1e-12


def test_far_hemisphere_is_not_front():
    ra0, dec0 = 30.0, 40.0
    c0 = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    seps = np.array([0.0, 45.0, 89.0, 91.0, 135.0, 179.0])
    pts = c0.directional_offset_by(np.full(6, 70.0) * u.deg, seps * u.deg)
    _, _, front = sky_to_field(pts.ra.deg, pts.dec.deg, ra0, dec0, 25.0)
    npt.assert_array_equal(front, [True, True, True, False, False, False])
    _, _, front = sky_to_field((ra0 + 180.0) % 360.0, -dec0, ra0, dec0, 0.0)  # antipode
    assert not bool(front)
    # a pointing at the pole: the whole opposite hemisphere is behind
    _, _, front = sky_to_field(np.array([0.0, 90.0, 200.0]), np.array([-1.0, 1.0, -60.0]), 0.0, 90.0, 0.0)
    npt.assert_array_equal(front, [False, True, False])


@pytest.mark.parametrize(("ra0", "dec0"), POINTINGS)
@pytest.mark.parametrize("pa", [0.0, 30.0, 90.0, 145.0, 270.0, 333.3])
def test_sky_to_field_matches_astropy_offsets(ra0, dec0, pa):
    ra, dec = random_points_near(ra0, dec0, 100, 0.5, seed=int(pa) + 17)
    X, Y, front = sky_to_field(ra, dec, ra0, dec0, pa)
    Xa, Ya, _ = field_from_astropy(ra, dec, ra0, dec0, pa)
    assert front.all()
    npt.assert_allclose(X, Xa, rtol=0, atol=1e-10)
    npt.assert_allclose(Y, Ya, rtol=0, atol=1e-10)


@pytest.mark.parametrize(("ra0", "dec0"), POINTINGS)
def test_sky_to_field_small_offsets_first_order(ra0, dec0):
    """For ~0.1 deg separations the field angles equal the rotated (east, north) offsets to ~1e-6 deg."""
    ra, dec = random_points_near(ra0, dec0, 100, 0.1, seed=5)
    for pa in (0.0, 60.0, 135.0, 250.0):
        X, Y, _ = sky_to_field(ra, dec, ra0, dec0, pa)
        _, _, (east, north) = field_from_astropy(ra, dec, ra0, dec0, pa)
        p = np.radians(pa)
        npt.assert_allclose(X, -np.cos(p) * east + np.sin(p) * north, rtol=0, atol=1e-6)
        npt.assert_allclose(Y, np.sin(p) * east + np.cos(p) * north, rtol=0, atol=1e-6)


def test_ra_wrap_gives_same_field_angles():
    ra = np.array([359.95, 0.05, 0.0])
    dec = np.array([1.0, -1.0, 0.0])
    X1, Y1, _ = sky_to_field(ra, dec, 0.0, 0.0, 20.0)
    X2, Y2, _ = sky_to_field(ra + 360.0, dec, 360.0, 0.0, 20.0)
    X3, Y3, _ = sky_to_field(ra - 360.0, dec, 0.0, 0.0, 20.0)
    npt.assert_allclose(np.c_[X2, Y2], np.c_[X1, Y1], rtol=0, atol=1e-10)
    npt.assert_allclose(np.c_[X3, Y3], np.c_[X1, Y1], rtol=0, atol=1e-10)
    X, Y, _ = sky_to_field(359.95, 0.0, 0.05, 0.0, 0.0)  # 0.1 deg west across the wrap, PA = 0
    assert float(X) == pytest.approx(0.1, rel=1e-5) and abs(float(Y)) < 1e-12
