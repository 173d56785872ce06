"""Mosaic, block and stamp geometry (core spec §3.1-§3.7, Appendix B).

Expected numbers come from the spec's worked examples or from hand formulas written out here; the code
under test is never used to produce its own expectations.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest
from astropy.coordinates import SkyCoord

from pyimcom.errors import ConfigError, PyIMCOMRangeError, PyIMCOMValueError
from pyimcom.geometry import (
    BlockLayout,
    MosaicGeometry,
    block_filename,
    block_index,
    block_number,
    fade_ramp,
    parse_padsides,
    stamp_taper,
)

# Appendix B, small test configuration
SMALL_CTR = (60.0504, -3.8)
SMALL_DTHETA_DEG = 0.04 / 3600.0
# Appendix B, production H158 configuration
PROD_DTHETA_DEG = 0.0390625 / 3600.0


def small_geometry(lonpole_deg: float = 240.0) -> MosaicGeometry:
    lay = BlockLayout(n1=4, n2=25, pad=0, fade=1)
    return MosaicGeometry(*SMALL_CTR, lonpole_deg, 2, lay, SMALL_DTHETA_DEG, "auto")


def prod_geometry(lonpole_deg: float = 180.0) -> MosaicGeometry:
    lay = BlockLayout(n1=80, n2=32, pad=2, fade=3)
    return MosaicGeometry(60.0, -4.0, lonpole_deg, 36, lay, PROD_DTHETA_DEG, "all")


def toy_geometry(nblock: int, pad: int, padsides: str, n1: int = 4) -> MosaicGeometry:
    return MosaicGeometry(30.0, 10.0, 180.0, nblock, BlockLayout(n1=n1, n2=8, pad=pad), 1e-5, padsides)


def stg_world2pix(geom: MosaicGeometry, ibx: int, iby: int, ra_deg, dec_deg):
    """Independent FITS Paper II stereographic projection -> 0-based block pixels (identity PC)."""
    a0, d0 = np.radians(geom.ra_deg), np.radians(geom.dec_deg)
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    # celestial -> native spherical (zenithal: native pole at the reference point); the tangent-plane
    # components (east, north) and cos(zeta) give a zenith distance that is stable near the centre
    east = np.cos(d) * np.sin(a - a0)
    north = np.sin(d) * np.cos(d0) - np.cos(d) * np.sin(d0) * np.cos(a - a0)
    cos_zeta = np.sin(d) * np.sin(d0) + np.cos(d) * np.cos(d0) * np.cos(a - a0)
    zeta = np.arctan2(np.hypot(east, north), cos_zeta)
    phi = np.radians(geom.lonpole_deg) + np.arctan2(-east, north)
    r_deg = np.degrees(2.0 * np.tan(zeta / 2.0))
    x_int, y_int = r_deg * np.sin(phi), -r_deg * np.cos(phi)
    lay = geom.layout
    half = (geom.nblock - 1) / 2.0
    crpix1 = (lay.nside_padded_px + 1) / 2.0 - lay.nside_px * (ibx - half)
    crpix2 = (lay.nside_padded_px + 1) / 2.0 - lay.nside_px * (iby - half)
    return crpix1 - 1.0 + x_int / -geom.dtheta_deg, crpix2 - 1.0 + y_int / geom.dtheta_deg


# ---- Appendix B: small configuration ----------------------------------------------------------


def test_small_config_block_0_1_crpix_index_and_filename():
    g = small_geometry()
    npt.assert_allclose(g.block_wcs(0, 1).wcs.crpix, [100.5, 0.5], rtol=0, atol=1e-12)
    assert block_index(1, 2) == (0, 1)
    assert block_number(0, 1, 2) == 1
    assert block_filename("OUT", 0, 1) == "OUT_00_01.fits"
    assert block_filename("run/x", 12, 3) == "run/x_12_03.fits"
    assert block_filename("x", 123, 4) == "x_123_04.fits"  # wider for BLOCK >= 100, never truncated


def test_small_config_layout_and_search_radius():
    lay = small_geometry().layout
    assert (lay.nside_px, lay.nside_padded_px, lay.n1_padded) == (100, 100, 4)
    assert (lay.n2_faded_px, lay.m_out_px, lay.nside_accum_px) == (27, 729, 102)
    assert small_geometry().search_radius_deg() == pytest.approx(0.089111, abs=1e-6)


def test_fade_ramp_fk1_matches_appendix_b():
    s = fade_ramp(1)
    assert s.shape == (2,) and s.dtype == np.float64
    npt.assert_allclose(s, [0.195501, 0.804499], rtol=0, atol=1e-6)
    hand = [
        1 / 3 - math.sin(2 * math.pi / 3) / (2 * math.pi),
        2 / 3 - math.sin(4 * math.pi / 3) / (2 * math.pi),
    ]
    npt.assert_allclose(s, hand, rtol=0, atol=1e-15)


def test_fade_ramp_fk3_matches_spec_and_is_symmetric():
    s = fade_ramp(3)
    npt.assert_allclose(s, [0.01842, 0.13055, 0.35952, 0.64048, 0.86945, 0.98158], rtol=0, atol=5e-6)
    for fk in (1, 2, 3, 5):
        s = fade_ramp(fk)
        npt.assert_allclose(s + s[::-1], 1.0, rtol=0, atol=1e-14)  # s_k + s_{L+1-k} = 1
        assert np.all(np.diff(s) > 0) and 0 < s[0] and s[-1] < 1
    assert fade_ramp(0).shape == (0,)


def test_fade_ramp_negative_raises():
    with pytest.raises(PyIMCOMValueError, match=r"fade must be >= 0; got -1"):
        fade_ramp(-1)


@pytest.mark.parametrize(("n2", "fade"), [(25, 1), (32, 3), (8, 2)])
def test_stamp_taper_profile_and_overlap_sums_to_one(n2, fade):
    w = stamp_taper(n2, fade)
    n2f, ell = n2 + 2 * fade, 2 * fade
    assert w.shape == (n2f, n2f)
    profile = w[n2f // 2]  # a row through the middle has y weight 1
    npt.assert_allclose(w, np.outer(profile, profile), rtol=0, atol=1e-15)
    npt.assert_allclose(profile[ell : n2f - ell], 1.0)  # 1 in the middle
    npt.assert_allclose(profile[:ell], fade_ramp(fade))  # outermost pixel gets s_1
    npt.assert_allclose(profile[n2f - ell :], fade_ramp(fade)[::-1])
    # 3 x 3 stamps placed n2 apart (as in the accumulator): the sum is 1 wherever two or more overlap
    side = 3 * n2 + 2 * fade
    acc = np.zeros((side, side))
    for j in range(3):
        for i in range(3):
            acc[j * n2 : j * n2 + n2f, i * n2 : i * n2 + n2f] += w
    inner = acc[ell : side - ell, ell : side - ell]
    npt.assert_allclose(inner, 1.0, rtol=0, atol=1e-14)


def test_stamp_taper_no_fade_is_all_ones():
    npt.assert_array_equal(stamp_taper(4, 0), np.ones((4, 4)))


# ---- Appendix B: production H158 --------------------------------------------------------------


def test_production_layout_numbers():
    g = prod_geometry()
    lay = g.layout
    assert (lay.nside_px, lay.nside_padded_px, lay.n1_padded) == (2560, 2688, 84)
    assert (lay.n2_faded_px, lay.m_out_px, lay.nside_accum_px) == (38, 1444, 2694)
    assert len(g.processing_order(0, 0)) == 84 * 84 == 7056
    assert g.search_radius_deg() == pytest.approx(0.108949, abs=1e-6)
    assert g.acceptance_bounds == (-32.5, 2719.5)


def test_production_block_wcs_crpix_cdelt():
    g = prod_geometry()
    w00 = g.block_wcs(0, 0)
    npt.assert_allclose(w00.wcs.crpix, [46144.5, 46144.5], rtol=0, atol=1e-9)
    npt.assert_allclose(g.block_wcs(18, 18).wcs.crpix, [64.5, 64.5], rtol=0, atol=1e-9)
    assert w00.wcs.cdelt[0] == pytest.approx(-1.0850694444444e-05, rel=1e-12)
    assert w00.wcs.cdelt[1] == pytest.approx(1.0850694444444e-05, rel=1e-12)
    assert list(w00.wcs.ctype) == ["RA---STG", "DEC--STG"]
    assert w00.pixel_shape == (2688, 2688)
    hdr = g.block_header(0, 0)
    assert hdr["CRPIX1"] == pytest.approx(46144.5) and hdr["CTYPE2"] == "DEC--STG"
    assert hdr["LONPOLE"] == pytest.approx(180.0) and hdr["RADESYS"] == "ICRS"


@pytest.mark.parametrize("lonpole", [180.0, 240.0])
def test_projection_centre_is_block_18_18_pixel_63_5(lonpole):
    g = prod_geometry(lonpole)
    x, y = g.block_wcs(18, 18).all_world2pix([[g.ra_deg, g.dec_deg]], 0)[0]
    assert (x, y) == (pytest.approx(63.5, abs=1e-8), pytest.approx(63.5, abs=1e-8))
    # = the lower-left corner of the unpadded area, global X = Y = BLOCK Nside / 2 - 0.5
    gx, gy = g.block_to_global(18, 18, 63.5, 63.5)
    assert float(gx) == float(gy) == 36 * 2560 / 2 - 0.5
    # the four central blocks share that corner
    for ibx, iby, ex, ey in [(17, 17, 2623.5, 2623.5), (17, 18, 2623.5, 63.5), (18, 17, 63.5, 2623.5)]:
        x, y = g.block_wcs(ibx, iby).all_world2pix([[g.ra_deg, g.dec_deg]], 0)[0]
        npt.assert_allclose([x, y], [ex, ey], rtol=0, atol=1e-8)


def test_lonpole_180_north_up_east_left():
    g = prod_geometry(180.0)
    w = g.block_wcs(18, 18)
    pix = [[63.5, 63.5], [63.5, 1063.5], [1063.5, 63.5]]  # CTR, 1000 px up, 1000 px right
    (ra0, dec0), (ra_y, dec_y), (ra_x, dec_x) = w.all_pix2world(pix, 0)
    assert dec_y > dec0 and ra_y == pytest.approx(ra0, abs=1e-10)
    assert ra_x < ra0  # +x is west
    # 1000 px straight up: the stereographic radius r = 2 tan(theta / 2)
    r_rad = math.radians(1000 * PROD_DTHETA_DEG)
    assert dec_y - dec0 == pytest.approx(math.degrees(2 * math.atan(r_rad / 2)), abs=1e-11)


@pytest.mark.parametrize("lonpole", [180.0, 240.0])
@pytest.mark.parametrize(("ibx", "iby"), [(0, 0), (35, 0), (18, 18), (7, 29)])
def test_block_wcs_matches_hand_stereographic(lonpole, ibx, iby):
    g = prod_geometry(lonpole)
    rng = np.random.default_rng(ibx * 100 + iby + int(lonpole))
    pix = rng.uniform(-0.5, 2687.5, size=(50, 2))
    ra, dec = g.block_wcs(ibx, iby).all_pix2world(pix, 0).T
    x, y = stg_world2pix(g, ibx, iby, ra, dec)
    npt.assert_allclose(np.c_[x, y], pix, rtol=0, atol=1e-5)
    # angular distance from CTR obeys r = 2 tan(theta / 2) independent of LONPOLE
    ctr = SkyCoord(g.ra_deg, g.dec_deg, unit="deg")
    sep = ctr.separation(SkyCoord(ra, dec, unit="deg")).rad
    gx, gy = g.block_to_global(ibx, iby, pix[:, 0], pix[:, 1])
    c = 36 * 2560 / 2 - 0.5
    r_rad = np.hypot(gx - c, gy - c) * math.radians(PROD_DTHETA_DEG)
    npt.assert_allclose(sep, 2 * np.arctan(r_rad / 2), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("lonpole", [180.0, 240.0])
@pytest.mark.parametrize(("ibx", "iby"), [(0, 0), (0, 35), (35, 35), (18, 17), (3, 22)])
def test_block_wcs_pixel_sky_pixel_round_trip(lonpole, ibx, iby):
    g = prod_geometry(lonpole)
    w = g.block_wcs(ibx, iby)
    rng = np.random.default_rng(1000 * ibx + iby)
    pix = rng.uniform(-0.5, 2687.5, size=(200, 2))  # the whole padded block
    back = w.all_world2pix(w.all_pix2world(pix, 0), 0)
    npt.assert_allclose(back, pix, rtol=0, atol=1e-6)


def test_small_config_round_trip():
    g = small_geometry(240.0)
    for ibx in range(2):
        for iby in range(2):
            w = g.block_wcs(ibx, iby)
            pix = np.random.default_rng(ibx + 2 * iby).uniform(-0.5, 99.5, size=(100, 2))
            npt.assert_allclose(w.all_world2pix(w.all_pix2world(pix, 0), 0), pix, rtol=0, atol=1e-6)


@pytest.mark.parametrize("lonpole", [180.0, 240.0])
@pytest.mark.parametrize(
    ("ibx", "iby", "dbx", "dby"), [(0, 0, 1, 0), (0, 0, 0, 1), (17, 18, 1, 1), (35, 34, 0, 1)]
)
def test_neighbouring_blocks_agree_on_global_pixels(lonpole, ibx, iby, dbx, dby):
    g = prod_geometry(lonpole)
    nside, off = 2560, 2 * 32
    # points in the overlap band of the two padded blocks
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.5, 2687.5, 40) if dbx == 0 else rng.uniform(2560 - 0.5, 2687.5, 40)
    y = rng.uniform(-0.5, 2687.5, 40) if dby == 0 else rng.uniform(2560 - 0.5, 2687.5, 40)
    gx, gy = g.block_to_global(ibx, iby, x, y)
    npt.assert_allclose(gx, x - off + ibx * nside)
    npt.assert_allclose(gy, y - off + iby * nside)
    # the same global pixel in the neighbour's own coordinates (hand formula inverted)
    xn, yn = gx + off - (ibx + dbx) * nside, gy + off - (iby + dby) * nside
    gxn, gyn = g.block_to_global(ibx + dbx, iby + dby, xn, yn)
    npt.assert_allclose(np.c_[gxn, gyn], np.c_[gx, gy], rtol=0, atol=1e-9)
    s1 = g.block_wcs(ibx, iby).all_pix2world(np.c_[x, y], 0)
    s2 = g.block_wcs(ibx + dbx, iby + dby).all_pix2world(np.c_[xn, yn], 0)
    sep = SkyCoord(s1, unit="deg").separation(SkyCoord(s2, unit="deg")).deg
    assert np.all(sep < 1e-6 * PROD_DTHETA_DEG)


def test_block_center_sky():
    g = prod_geometry()
    ra, dec = g.block_center_sky(18, 18)
    # centre of padded block (18, 18) is 1280 px right and up of CTR (pixel 63.5 -> 1343.5)
    x, y = stg_world2pix(g, 18, 18, ra, dec)
    assert (x, y) == (pytest.approx(1343.5, abs=1e-5), pytest.approx(1343.5, abs=1e-5))
    ra_c, dec_c = g.block_center_sky(0, 35)
    assert ra_c > g.ra_deg and dec_c > g.dec_deg  # left (east) and top (north) corner


def test_block_wcs_out_of_range_raises():
    with pytest.raises(PyIMCOMRangeError, match=r"\[0, 36\).*\(36, 0\)"):
        prod_geometry().block_wcs(36, 0)


# ---- Stamp grids (§3.4, Appendix B) -----------------------------------------------------------


def test_production_outstamp_3_5_pixels():
    g = prod_geometry()
    assert g.outstamp_core(3, 5) == (128, 159, 64, 95)
    xs, ys = g.outstamp_pixels(3, 5)
    npt.assert_array_equal(xs, np.arange(125, 163))
    npt.assert_array_equal(ys, np.arange(61, 99))
    rows, cols = g.accumulator_slices(3, 5)
    assert (rows.start, rows.stop - 1, cols.start, cols.stop - 1) == (64, 101, 128, 165)
    assert len(range(2694)[rows]) == len(range(2694)[cols]) == 38
    # accumulator index = block pixel + fk
    npt.assert_array_equal(np.arange(2694)[cols], xs + 3)


def test_production_instamp_3_5_and_psf_group():
    g = prod_geometry()
    assert g.instamp_bounds(3, 5) == (127.5, 159.5, 63.5, 95.5)
    assert g.psf_group(3, 5) == (2, 4)
    assert g.psf_group_center(2, 4) == (127.5, 63.5)
    cases = {(2, 4): (2, 4), (2, 5): (2, 4), (3, 4): (2, 4), (0, 0): (0, 0), (85, 1): (84, 0)}
    for (j, i), grp in cases.items():
        assert g.psf_group(j, i) == grp


def test_instamp_of_is_left_closed_right_open():
    g = prod_geometry()
    eps = 1e-9  # well above the rounding of (x + n2 + 0.5) near 160, far below a pixel
    x = np.array([127.5, 127.5 - eps, 159.5 - eps, 159.5, 143.0])
    y = np.array([63.5, 63.5 - eps, 95.5 - eps, 95.5, 80.0])
    j, i = g.instamp_of(x, y)
    npt.assert_array_equal(i, [5, 4, 5, 6, 5])
    npt.assert_array_equal(j, [3, 2, 3, 4, 3])
    assert j.dtype == np.int64
    # first and last InStamps at the acceptance bounds (-32.5, 2719.5)
    lo, hi = g.acceptance_bounds
    j, i = g.instamp_of(np.array([lo + eps, -0.5, hi - eps]), np.zeros(3))
    npt.assert_array_equal(i, [0, 1, 85])
    npt.assert_array_equal(j, [1, 1, 1])


def test_instamp_bounds_tile_the_acceptance_region():
    g = toy_geometry(1, 1, "all")  # n1 = 4, pad 1 -> n1P = 6, InStamps 0..7, n2 = 8
    n2 = 8
    for k in range(8):
        x_lo, x_hi, y_lo, y_hi = g.instamp_bounds(k, k)
        assert (x_lo, x_hi) == ((k - 1) * n2 - 0.5, k * n2 - 0.5) == (y_lo, y_hi)
    assert g.instamp_bounds(0, 0)[0] == g.acceptance_bounds[0]
    assert g.instamp_bounds(7, 7)[1] == g.acceptance_bounds[1]


# ---- PADSIDES and stamp ranges (§3.4) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("all", "all"), ("ALL", "all"), ("Auto", "auto"), ("none", "none"), ("NoNe", "none"),
     ("bl", "BL"), ("BL", "BL"), ("tR", "TR"), ("btlr", "BTLR"), (" b ", "B")],
)  # fmt: skip
def test_parse_padsides_accepts(value, expected):
    assert parse_padsides(value) == expected


@pytest.mark.parametrize("value", ["X", "", "   ", "BX", "alll", "B L"])
def test_parse_padsides_rejects_bad_strings(value):
    with pytest.raises(ConfigError, match=r"PADSIDES must be 'all', 'auto', 'none' or .*B, T, L, R"):
        parse_padsides(value)


@pytest.mark.parametrize("value", [None, 3, ["B", "L"], b"BL"])
def test_parse_padsides_rejects_non_strings(value):
    with pytest.raises(ConfigError, match=r"PADSIDES must be a string"):
        parse_padsides(value)


def hand_stamp_range(n1: int, pad: int, sides: str) -> tuple[int, int, int, int]:
    """Spec §3.4: start from [P+1, P+n1] and extend by P on each padded side."""
    lo, hi = pad + 1, pad + n1
    return (
        lo - pad * ("B" in sides),
        hi + pad * ("T" in sides),
        lo - pad * ("L" in sides),
        hi + pad * ("R" in sides),
    )


@pytest.mark.parametrize(
    ("padsides", "ibx", "iby", "sides"),
    [("all", 1, 1, "BTLR"), ("none", 0, 0, ""), ("BL", 1, 1, "BL"), ("TR", 0, 0, "TR"), ("B", 2, 2, "B"),
     ("auto", 0, 0, "BL"), ("auto", 2, 2, "TR"), ("auto", 1, 0, "B"), ("auto", 0, 1, "L"),
     ("auto", 2, 1, "R"), ("auto", 1, 2, "T"), ("auto", 2, 0, "BR"), ("auto", 0, 2, "TL"),
     ("auto", 1, 1, "")],
)  # fmt: skip
def test_padded_sides_and_stamp_range_3x3(padsides, ibx, iby, sides):
    g = toy_geometry(3, 2, padsides)
    assert g.padded_sides(ibx, iby) == frozenset(sides)
    assert g.stamp_range(ibx, iby) == hand_stamp_range(4, 2, sides)


def test_stamp_range_hand_values_pad2():
    g = toy_geometry(3, 2, "auto")
    # n1 = 4, P = 2: unpadded stamps 3..6; padded side extends to 1 or 8
    assert g.stamp_range(0, 0) == (1, 6, 1, 6)
    assert g.stamp_range(2, 2) == (3, 8, 3, 8)
    assert g.stamp_range(1, 0) == (1, 6, 3, 6)
    assert g.stamp_range(1, 1) == (3, 6, 3, 6)
    assert toy_geometry(3, 2, "all").stamp_range(1, 1) == (1, 8, 1, 8)


def test_auto_on_1x1_mosaic_pads_all_four_sides():
    g = toy_geometry(1, 2, "auto")
    assert g.padded_sides(0, 0) == frozenset("BTLR")  # the reference's else-if would give B, L only
    assert g.stamp_range(0, 0) == (1, 8, 1, 8)


def test_odd_computed_count_raises():
    with pytest.raises(ConfigError, match=r"PAD = 1 computes 7 stamp rows.*must be even"):
        toy_geometry(3, 1, "B", n1=6).stamp_range(1, 1)
    with pytest.raises(ConfigError, match=r"stamp columns.*even"):
        toy_geometry(3, 1, "L").stamp_range(1, 1)
    with pytest.raises(ConfigError, match=r"even"):
        toy_geometry(3, 1, "auto").stamp_range(0, 0)
    # symmetric padding with an odd PAD is fine
    assert toy_geometry(3, 1, "all").stamp_range(1, 1) == (1, 6, 1, 6)
    assert toy_geometry(1, 1, "auto").stamp_range(0, 0) == (1, 6, 1, 6)


def test_mosaic_geometry_normalises_padsides():
    assert toy_geometry(3, 2, "bl").padded_sides(1, 1) == frozenset("BL")
    assert toy_geometry(3, 2, "All").padded_sides(1, 1) == frozenset("BTLR")
    with pytest.raises(ConfigError, match="PADSIDES"):
        toy_geometry(3, 2, "BX")


# ---- processing order, STOP and needed InStamps (§3.4, §6.2) ----------------------------------


def test_processing_order_4x4_by_hand():
    g = toy_geometry(1, 0, "none")
    expected = [
        (1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (1, 4), (2, 3), (2, 4),
        (3, 1), (3, 2), (4, 1), (4, 2), (3, 3), (3, 4), (4, 3), (4, 4),
    ]  # fmt: skip
    assert g.processing_order(0, 0) == expected
    assert g.processing_order(0, 0, stop=0) == expected
    assert g.processing_order(0, 0, stop=5) == expected[:5]
    assert g.processing_order(0, 0, stop=16) == expected
    assert g.processing_order(0, 0, stop=100) == expected


def test_processing_order_with_padding_starts_at_odd_indices():
    g = toy_geometry(3, 2, "auto")
    order = g.processing_order(2, 2)  # T, R padded: j, i in 3..8
    assert order[:4] == [(3, 3), (3, 4), (4, 3), (4, 4)]
    assert len(order) == 36 == len(set(order))
    assert {j for j, _ in order} == set(range(3, 9)) == {i for _, i in order}


def test_instamps_needed_stop4():
    g = toy_geometry(1, 0, "none")
    use = g.instamps_needed(g.processing_order(0, 0, stop=4))
    expected = np.zeros((6, 6), dtype=bool)
    expected[0:4, 0:4] = True  # 3x3 neighbourhoods of (1,1), (1,2), (2,1), (2,2)
    assert use.dtype == bool
    npt.assert_array_equal(use, expected)
    use6 = g.instamps_needed(g.processing_order(0, 0, stop=6))  # adds (1, 3), (1, 4)
    expected[0:3, 2:6] = True
    npt.assert_array_equal(use6, expected)
    npt.assert_array_equal(g.instamps_needed(g.processing_order(0, 0)), np.ones((6, 6), dtype=bool))


# ---- block numbering (§3.3) -------------------------------------------------------------------


def test_block_index_number_round_trip_3x3():
    seen = []
    for this_sub in range(9):
        ibx, iby = block_index(this_sub, 3)
        assert (ibx, iby) == (this_sub // 3, this_sub % 3)  # walks in y first
        assert block_number(ibx, iby, 3) == this_sub
        seen.append((ibx, iby))
    assert sorted(seen) == [(x, y) for x in range(3) for y in range(3)]


@pytest.mark.parametrize("this_sub", [-1, 9, 100])
def test_block_index_out_of_range(this_sub):
    with pytest.raises(PyIMCOMRangeError, match=rf"this_sub must be in \[0, 9\); got {this_sub}"):
        block_index(this_sub, 3)


@pytest.mark.parametrize(("ibx", "iby"), [(3, 0), (0, 3), (-1, 0), (0, -1)])
def test_block_number_out_of_range(ibx, iby):
    with pytest.raises(PyIMCOMRangeError, match=r"must lie in \[0, 3\)"):
        block_number(ibx, iby, 3)
