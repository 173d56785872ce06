"""Synthetic survey: WCS read-back, PSF files against the PSF model, drawing, determinism."""

from __future__ import annotations

import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from pyimcom.geometry import BlockLayout, MosaicGeometry
from pyimcom.instrument import filter_name
from pyimcom.io.labnoise import read_labnoise
from pyimcom.io.obstable import read_obs_table
from pyimcom.io.psf import InputPSF, psf_path
from pyimcom.io.science import get_format
from pyimcom.simulate import SurveySettings, TargetArea, corner_psfs, plan_survey, render_image, survey_files
from pyimcom.simulate.scene import Catalog


def _tiny_layout(**kw):
    geo = MosaicGeometry(60.0, -4.0, 180.0, 1, BlockLayout(2, 16), 0.25 / 3600)
    opts = dict(
        n_passes=1,
        dithers_per_pass=1,
        sca_nside=128,
        psf_nside_os=128,
        aberration_waves=0.0,
        object_margin_arcsec=1.0,
    )
    return plan_survey(SurveySettings(**{**opts, **kw}), TargetArea(geo, 4.0, 2))


def test_science_image_reads_back_with_its_wcs(small_survey):
    """Catalogue stars map to the same pixel through the written header as through the simulator's WCS."""
    cfg, layout = small_survey["cfg"], small_survey["layout"]
    fmt = get_format(cfg.informat)
    with fits.open(os.path.join(small_survey["root"], "inputs", "catalog.fits")) as hdul:
        cat = hdul["OBJECTS"].data
        ra, dec = np.array(cat["ra"]), np.array(cat["dec"])
    for obsid, sca in layout.images:
        path = fmt.science_path(cfg.inpath, filter_name(cfg.use_filter), obsid, sca)
        x_read, y_read = fmt.read_wcs(path).all_world2pix(ra, dec, 0)
        x_sim, y_sim = WCS(layout.header(obsid, sca)).all_world2pix(ra, dec, 0)
        assert np.max(np.hypot(x_read - x_sim, y_read - y_sim)) < 1e-3
        assert fmt.read_shape(path) == (layout.settings.sca_nside,) * 2
        assert "A_2_0" in fmt.read_header(path)  # the SIP distortion is really there


def test_star_is_drawn_where_the_wcs_puts_it():
    """A symmetric PSF star at a known pixel position: its centroid is at that position."""
    layout = _tiny_layout()
    obsid, sca = layout.images[0]
    wcs = WCS(layout.header(obsid, sca))
    x0, y0 = 60.3, 70.7
    ((ra, dec),) = wcs.all_pix2world([[x0, y0]], 0)
    one = np.ones(1)
    cat = Catalog(one * ra, one * dec, np.zeros(1, int), one * 1e4, 0 * one, 0 * one, 0 * one)
    img = render_image(layout, obsid, sca, cat, noise=False) - layout.settings.sky_rate_e_s * 139.8
    cut = img[int(y0) - 12 : int(y0) + 14, int(x0) - 12 : int(x0) + 14].astype(float)
    yy, xx = np.mgrid[int(y0) - 12 : int(y0) + 14, int(x0) - 12 : int(x0) + 14]
    assert (cut * xx).sum() / cut.sum() == pytest.approx(x0, abs=2e-3)
    assert (cut * yy).sum() / cut.sum() == pytest.approx(y0, abs=2e-3)
    assert cut.sum() == pytest.approx(1e4, rel=2e-3)  # flux inside +-13 px


def test_galaxy_flux_is_conserved():
    layout = _tiny_layout()
    obsid, sca = layout.images[0]
    wcs = WCS(layout.header(obsid, sca))
    ((ra, dec),) = wcs.all_pix2world([[64.0, 64.0]], 0)
    one = np.ones(1)
    cat = Catalog(one * ra, one * dec, np.ones(1, int), one * 5e3, 0.3 * one, 0.2 * one, -0.1 * one)
    img = render_image(layout, obsid, sca, cat, noise=False) - layout.settings.sky_rate_e_s * 139.8
    assert img.sum() == pytest.approx(5e3, rel=0.03)
    assert img.max() < 5e3 * 0.2  # extended, not a point source


def test_psf_file_evaluates_to_the_model_at_corners_and_centre(small_survey):
    cfg, layout = small_survey["cfg"], small_survey["layout"]
    n, ov = layout.settings.sca_nside, layout.settings.ov
    for obsid, sca in layout.images[:2]:
        model = corner_psfs(layout, obsid, sca)
        psf = InputPSF(psf_path(cfg.inpsf_path, "anlsim", obsid), "anlsim", ov, (n, n))
        scale = model.bl.max()
        # the exact corners of the SCA (u, v = +-1) are the corner PSFs themselves
        for (x, y), corner in {
            (-0.5, -0.5): model.bl,
            (n - 0.5, -0.5): model.br,
            (-0.5, n - 0.5): model.tl,
            (n - 0.5, n - 0.5): model.tr,
        }.items():
            np.testing.assert_allclose(psf.raw(sca, x, y) / ov**2, corner, atol=2e-6 * scale)
        for x, y in [(0, 0), (n - 1, 0), (0, n - 1), (n - 1, n - 1), ((n - 1) / 2, (n - 1) / 2)]:
            np.testing.assert_allclose(
                psf.raw(sca, x, y) / ov**2, model.at_pixel(x, y, n, n), atol=2e-6 * scale
            )
        # the four corners really differ (a field-dependent PSF)
        assert np.abs(model.bl - model.tr).max() > 1e-3 * scale


def test_tophat_convolved_psf_has_unit_sum(small_survey):
    cfg, layout = small_survey["cfg"], small_survey["layout"]
    obsid, sca = layout.images[0]
    n, ov = layout.settings.sca_nside, layout.settings.ov
    psf = InputPSF(psf_path(cfg.inpsf_path, "anlsim", obsid), "anlsim", ov, (n, n))
    for x, y in [(3.0, 5.0), (n / 2, n / 3), (n - 1.0, n - 1.0)]:
        arr = psf.at(sca, x, y)
        assert arr.sum() == pytest.approx(1.0, abs=1e-5)
        assert arr.shape == (layout.settings.psf_nside_os + 24,) * 2  # padded by 12 per side for ov = 8


def test_obs_table_and_files(small_survey):
    layout, root = small_survey["layout"], small_survey["root"]
    obs = read_obs_table(small_survey["cfg"].obsfile)
    assert len(obs) == len(layout.exposures) == 6
    np.testing.assert_allclose(obs.ra_deg, [e.ra_deg for e in layout.exposures])
    np.testing.assert_allclose(obs.pa_deg, [e.pa_deg for e in layout.exposures])
    assert set(obs.filter_code) == {2}
    assert len({round(p, 3) for p in obs.pa_deg}) == 6  # roll angles differ between exposures
    for paths in survey_files(layout).values():
        for rel in paths:
            assert os.path.exists(os.path.join(root, "inputs", rel)), rel
    obsid, sca = layout.images[0]
    lab = read_labnoise(os.path.join(root, "inputs", "labnoise", f"slope_{obsid}_{sca}.fits"), nside=256)
    assert lab.shape == (256, 256) and 0.8 < np.std(lab[np.abs(lab) < 5]) < 1.2


def test_layout_is_deterministic_and_seed_dependent(small_survey):
    layout = small_survey["layout"]
    again = plan_survey(layout.settings, layout.target)
    assert again.exposures == layout.exposures and again.images == layout.images
    assert again.header(*layout.images[0]) == layout.header(*layout.images[0])
    other = plan_survey(SurveySettings(**{**layout.settings.__dict__, "seed": 8}), layout.target)
    assert other.exposures != layout.exposures


def test_only_overlapping_scas_are_written(small_survey):
    """Every written image overlaps the target; each exposure's other SCAs do not."""
    from pyimcom.footprint import count_pixels_in_box

    layout = small_survey["layout"]
    tgt, n = layout.target, layout.settings.sca_nside
    for exp in layout.exposures:
        for sca in range(1, 19):
            hits = count_pixels_in_box(WCS(layout.header(exp.obsid, sca)), (n, n), tgt.out_wcs(), tgt.box())
            assert (hits > 0) == ((exp.obsid, sca) in layout.images)
