"""Synthetic Roman survey in the ``anlsim`` input format (the demo data and test fixture).

`simulate_survey` writes, under one output directory:

* ``obs.fits`` -- observation table (row index = obsid; ``filter`` as 4-character names);
* ``simple/Roman_WAS_simple_model_{F}_{obsid}_{sca}.fits`` -- science images (``SCI`` in electrons per
  pixel per exposure, with sky, noise, stars and galaxies; ``SKY_MEAN``; TAN-SIP WCS) for the SCAs whose
  pixels overlap the target area;
* ``psf/psf_polyfit_{obsid}.fits`` -- first-order Legendre PSF cubes for all 18 SCAs, oversampled by
  ``ov`` (anlsim normalisation: flux per native-pixel area, i.e. summing to ``ov**2``);
* ``labnoise/slope_{obsid}_{sca}.fits`` -- lab dark "slope" images including the reference-pixel
  border (``sca_nside + 8`` square);
* ``truth/Roman_WAS_truth_{F}_{obsid}_{sca}.fits`` -- the noiseless scene (primary HDU, float32,
  electrons per pixel per exposure, no sky): the science image minus ``SKY_MEAN`` minus the noise;
  read by the ``truth`` layer;
* ``catalog.fits`` -- the objects that were drawn.

Everything is a deterministic function of `SurveySettings` (including the seed) and the `TargetArea`.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..instrument import LAMBDA_OVER_D_NATIVE, N_SCA, REFPIX_BORDER
from ..io.fitsutil import atomic_write
from ..io.labnoise import write_labnoise
from ..io.obstable import write_obs_table
from ..io.psf import write_legendre_psf_file
from ..io.science import write_anlsim_image, write_truth_image
from .optics import CornerPSFs, make_corner_psfs
from .scene import Catalog, SCARenderer, make_catalog
from .survey import (
    STREAM_CATALOG,
    STREAM_LAB,
    STREAM_NOISE,
    STREAM_PSF,
    SurveyLayout,
    SurveySettings,
    TargetArea,
    plan_survey,
)

__all__ = [
    "SurveySettings",
    "TargetArea",
    "SurveyLayout",
    "plan_survey",
    "survey_files",
    "simulate_survey",
    "corner_psfs",
    "render_image",
    "render_scene",
]

logger = logging.getLogger(__name__)


def survey_files(layout: SurveyLayout) -> dict[str, list[str]]:
    """Relative paths of every file `simulate_survey` writes, by kind.

    Returns
    -------
    dict
        Keys ``obsfile``, ``science``, ``psf``, ``labnoise``, ``truth``, ``catalog``; values are lists of
        paths relative to the output directory.
    """
    f = layout.filter_name
    return {
        "obsfile": ["obs.fits"],
        "science": [f"simple/Roman_WAS_simple_model_{f}_{o}_{s}.fits" for o, s in layout.images],
        "psf": [f"psf/psf_polyfit_{e.obsid}.fits" for e in layout.exposures],
        "labnoise": [f"labnoise/slope_{o}_{s}.fits" for o, s in layout.images],
        "truth": [f"truth/Roman_WAS_truth_{f}_{o}_{s}.fits" for o, s in layout.images],
        "catalog": ["catalog.fits"],
    }


def corner_psfs(layout: SurveyLayout, obsid: int, sca: int) -> CornerPSFs:
    """The PSF model (four corner PSFs) of image ``(obsid, sca)``; deterministic."""
    st = layout.settings
    rng = st.rng(STREAM_PSF, obsid, sca)
    return make_corner_psfs(
        rng,
        LAMBDA_OVER_D_NATIVE[layout.target.filter_code],
        st.ov,
        st.psf_nside_os,
        rms_waves=st.aberration_waves,
    )


def _catalog(layout: SurveyLayout) -> Catalog:
    st, tgt = layout.settings, layout.target
    extra = st.object_margin_arcsec / 3600.0 / tgt.geometry.dtheta_deg
    return make_catalog(
        st.rng(STREAM_CATALOG),
        tgt.out_wcs(),
        tgt.box(extra),
        tgt.geometry.dtheta_deg,
        st.star_density_arcmin2,
        st.galaxy_density_arcmin2,
    )


def _write_catalog(cat: Catalog, path: str) -> None:
    cols = [
        fits.Column(name="ra", format="D", unit="deg", array=cat.ra_deg),
        fits.Column(name="dec", format="D", unit="deg", array=cat.dec_deg),
        fits.Column(name="kind", format="I", array=cat.kind),
        fits.Column(name="flux", format="D", unit="electron", array=cat.flux_e),
        fits.Column(name="hlr", format="D", unit="arcsec", array=cat.hlr_arcsec),
        fits.Column(name="g1", format="D", array=cat.g1),
        fits.Column(name="g2", format="D", array=cat.g2),
    ]
    hdu = fits.BinTableHDU.from_columns(cols, name="OBJECTS")
    hdu.header["COMMENT"] = "kind: 0 = star, 1 = galaxy; g1, g2 in the (west, north) frame"
    atomic_write(fits.HDUList([fits.PrimaryHDU(), hdu]), path)


def render_scene(layout: SurveyLayout, obsid: int, sca: int, catalog: Catalog) -> np.ndarray:
    """Noiseless scene of ``(obsid, sca)`` without sky, float32 ``[ny, nx]`` [electrons per pixel].

    This is the truth image the survey writes (``truth/Roman_WAS_truth_{F}_{obsid}_{sca}.fits``).
    """
    st = layout.settings
    n = st.sca_nside
    wcs = WCS(layout.header(obsid, sca))
    renderer = SCARenderer(wcs, (n, n), corner_psfs(layout, obsid, sca), st.ov)
    signal = np.zeros((n, n), dtype=np.float32)
    x, y = wcs.all_world2pix(catalog.ra_deg, catalog.dec_deg, 0)
    margin = renderer.half
    for k in np.flatnonzero((x > -margin) & (x < n + margin) & (y > -margin) & (y < n + margin)):
        renderer.draw(
            signal, x[k], y[k], catalog.flux_e[k], catalog.hlr_arcsec[k], catalog.g1[k], catalog.g2[k]
        )
    return signal


def _observe(layout: SurveyLayout, obsid: int, sca: int, signal: np.ndarray, noise: bool) -> np.ndarray:
    """Science image: ``signal`` plus sky plus (optionally) sky, read and shot noise."""
    st = layout.settings
    sky = st.sky_rate_e_s * st.exptime_s
    image = signal + np.float32(sky)
    if noise:
        rng = st.rng(STREAM_NOISE, obsid, sca)
        sigma = np.sqrt(np.float32(sky + st.read_noise_e**2) + np.maximum(signal, 0))
        image += rng.standard_normal(signal.shape, dtype=np.float32) * sigma
    return image


def render_image(
    layout: SurveyLayout, obsid: int, sca: int, catalog: Catalog, noise: bool = True
) -> np.ndarray:
    """Science image (with sky) of ``(obsid, sca)``, float32 ``[ny, nx]`` [electrons per pixel].

    It is `render_scene` plus the sky level (``SKY_MEAN``) plus, with ``noise``, Gaussian noise of
    variance sky + read noise squared + signal.
    """
    return _observe(layout, obsid, sca, render_scene(layout, obsid, sca, catalog), noise)


def _labnoise(layout: SurveyLayout, obsid: int, sca: int) -> np.ndarray:
    """Lab dark slope image: unit white noise with a few hot pixels, including the reference border."""
    n = layout.settings.sca_nside + 2 * REFPIX_BORDER
    rng = layout.settings.rng(STREAM_LAB, obsid, sca)
    img = rng.standard_normal((n, n), dtype=np.float32)
    hot = rng.integers(0, n * n, max(n * n // 2000, 1))
    img.flat[hot] = rng.uniform(5.0, 50.0, hot.size).astype(np.float32)
    return img


def simulate_survey(
    settings: SurveySettings,
    target: TargetArea,
    outdir: str | os.PathLike,
    noise: bool = True,
    catalog: Catalog | None = None,
) -> SurveyLayout:
    """Write the synthetic survey into ``outdir`` (see the module docstring for the layout).

    Parameters
    ----------
    settings : SurveySettings
        Survey settings (seed, sizes, densities).
    target : TargetArea
        Area to cover (the mosaic plus the acceptance margin) and filter.
    outdir : str or os.PathLike
        Output directory (created if needed).
    noise : bool
        Add sky and read noise and object shot noise. Default: True.
    catalog : Catalog, optional
        Objects to draw instead of the random catalogue of the settings (tests: a single star).

    Returns
    -------
    SurveyLayout
        The exposures and images written.
    """
    t0 = time.monotonic()
    layout = plan_survey(settings, target)
    outdir = os.fspath(outdir)
    files = survey_files(layout)
    exps = layout.exposures
    write_obs_table(
        os.path.join(outdir, files["obsfile"][0]),
        [e.ra_deg for e in exps],
        [e.dec_deg for e in exps],
        [e.pa_deg for e in exps],
        [layout.filter_name] * len(exps),
        [e.mjd for e in exps],
        [settings.exptime_s] * len(exps),
    )
    catalog = _catalog(layout) if catalog is None else catalog
    _write_catalog(catalog, os.path.join(outdir, files["catalog"][0]))
    logger.info("survey: %d exposures, %d images, %d objects", len(exps), len(layout.images), len(catalog))
    for k, exp in enumerate(exps):
        cubes = {
            s: corner_psfs(layout, exp.obsid, s).legendre_cube() * settings.ov**2 for s in range(1, N_SCA + 1)
        }
        write_legendre_psf_file(os.path.join(outdir, files["psf"][k]), cubes, settings.ov, exp.obsid)
    sky = settings.sky_rate_e_s * settings.exptime_s
    for k, (obsid, sca) in enumerate(layout.images):
        scene = render_scene(layout, obsid, sca, catalog)
        image = _observe(layout, obsid, sca, scene, noise)
        write_anlsim_image(os.path.join(outdir, files["science"][k]), image, layout.header(obsid, sca), sky)
        write_truth_image(os.path.join(outdir, files["truth"][k]), scene)
        write_labnoise(os.path.join(outdir, files["labnoise"][k]), _labnoise(layout, obsid, sca))
        dt = time.monotonic() - t0
        logger.info(
            "image %d of %d (obsid %d, SCA %d) written; %.1f s elapsed, %.2f images/s",
            k + 1,
            len(layout.images),
            obsid,
            sca,
            dt,
            (k + 1) / dt,
        )
    return layout
