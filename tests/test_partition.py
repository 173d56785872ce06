"""Input-pixel partition of a block (core §3.8) and per-stamp selection (§3.9)."""

from __future__ import annotations

import numpy as np
import pytest

from pyimcom.engine.inputs import InputImage, ScienceOnlySource
from pyimcom.engine.partition import partition_block, select_stamp_pixels
from pyimcom.instrument import filter_name
from pyimcom.io.obstable import read_obs_table
from pyimcom.io.science import get_format
from pyimcom.settings import mosaic_geometry


def _images(small_survey):
    cfg, layout = small_survey["cfg"], small_survey["layout"]
    fmt = get_format(cfg.informat)
    obs = read_obs_table(cfg.obsfile)
    source = ScienceOnlySource(fmt)
    out = []
    for obsid, sca in layout.images:
        path = fmt.science_path(cfg.inpath, filter_name(cfg.use_filter), obsid, sca)
        pointing = (obs.ra_deg[obsid], obs.dec_deg[obsid], obs.pa_deg[obsid])
        out.append(InputImage(obsid, sca, path, fmt.read_wcs(path), fmt.read_shape(path), pointing, source))
    return out


@pytest.fixture(scope="module")
def partitioned(small_survey):
    geo = mosaic_geometry(small_survey["cfg"])
    images = _images(small_survey)
    ibx, iby = 1, 2
    stamps = geo.processing_order(ibx, iby)
    needed = geo.instamps_needed(stamps)
    pixels, used = partition_block(images, geo, ibx, iby, needed, n_layer=1)
    return geo, images, (ibx, iby), needed, pixels, used


def test_partition_matches_a_pixel_by_pixel_assignment(partitioned):
    geo, images, (ibx, iby), needed, pixels, used = partitioned
    out_wcs = geo.block_wcs(ibx, iby)
    n2 = geo.layout.n2
    lo, hi = geo.acceptance_bounds
    total = 0
    for k, img in enumerate(images):
        ny, nx = img.shape
        yy, xx = np.mgrid[0:ny, 0:nx]
        ra, dec = img.wcs.all_pix2world(xx.ravel(), yy.ravel(), 0)
        xo, yo = out_wcs.all_world2pix(ra, dec, 0)
        ok = (xo > lo) & (xo < hi) & (yo > lo) & (yo < hi)
        js = np.floor((yo[ok] + n2 + 0.5) / n2).astype(int)
        is_ = np.floor((xo[ok] + n2 + 0.5) / n2).astype(int)
        n_expected = int(needed[js, is_].sum())
        n_got = int(np.sum(pixels.image == used.index(k))) if k in used else 0
        assert n_got == n_expected
        total += n_expected
    assert total == pixels.x.size > 0


def test_pixels_lie_in_their_instamp_and_carry_the_science_values(partitioned):
    geo, images, _, needed, pixels, used = partitioned
    n_side = needed.shape[0]
    for j in range(n_side):
        for i in range(n_side):
            sl = pixels.instamp(j, i)
            if not needed[j, i]:
                assert sl.stop == sl.start
                continue
            x_lo, x_hi, y_lo, y_hi = geo.instamp_bounds(j, i)
            assert np.all((pixels.x[sl] >= x_lo) & (pixels.x[sl] < x_hi))
            assert np.all((pixels.y[sl] >= y_lo) & (pixels.y[sl] < y_hi))
            assert np.all(np.diff(pixels.image[sl]) >= 0)  # images in block order inside an InStamp
    # a few values against the science file read directly
    img_k = used[0]
    sci = images[img_k].load()[0][0]
    sel = np.flatnonzero(pixels.image == 0)[:50]
    ra, dec = geo.block_wcs(1, 2).all_pix2world(pixels.x[sel], pixels.y[sel], 0)
    xi, yi = images[img_k].wcs.all_world2pix(ra, dec, 0)
    np.testing.assert_allclose(xi, np.rint(xi), atol=1e-6)
    np.testing.assert_array_equal(
        pixels.values[0, sel], sci[np.rint(yi).astype(int), np.rint(xi).astype(int)]
    )


def test_stamp_selection_is_the_core_grown_by_rho_with_round_corners(partitioned, small_survey):
    geo, _, _, needed, pixels, _ = partitioned
    rho = small_survey["cfg"].inpad_out_px
    j, i = 2, 2
    sel = np.concatenate(select_stamp_pixels(pixels, geo, j, i, rho))
    xf, xl, yf, yl = geo.outstamp_core(j, i)
    # distance from each candidate pixel to the core square [xf-0.5, xl+0.5] x [yf-0.5, yl+0.5]
    cand = np.concatenate(
        [np.arange(*pixels.start[j + dj, i + di]) for dj in (-1, 0, 1) for di in (-1, 0, 1)]
    )
    dx = np.maximum(np.maximum(xf - 0.5 - pixels.x[cand], pixels.x[cand] - xl - 0.5), 0)
    dy = np.maximum(np.maximum(yf - 0.5 - pixels.y[cand], pixels.y[cand] - yl - 0.5), 0)
    expected = cand[np.hypot(dx, dy) < rho]
    assert np.array_equal(np.sort(sel), np.sort(expected))
    assert sel.size > 0
