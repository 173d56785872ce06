"""From a `Config` to the small typed settings objects of the lower layers.

Lower layers (geometry, planner, simulator, engine) never see the whole configuration; these functions
pick what each needs.
"""

from __future__ import annotations

import scipy.fft

from .config import Config
from .engine.inputs import InputImage
from .engine.system import EngineSettings
from .geometry import MosaicGeometry, parse_padsides
from .instrument import LAMBDA_OVER_D_NATIVE, filter_name
from .io.obstable import read_obs_table
from .io.psf import InputPSF, psf_path
from .io.science import get_format
from .layers.build import LayerSettings
from .linalg import SolverSettings
from .plan import PlanSettings
from .simulate import TargetArea

__all__ = [
    "mosaic_geometry",
    "target_area",
    "plan_settings",
    "engine_settings",
    "layer_settings",
    "input_image",
]


def mosaic_geometry(cfg: Config) -> MosaicGeometry:
    """The `MosaicGeometry` of a configuration."""
    return MosaicGeometry(
        ra_deg=cfg.ra,
        dec_deg=cfg.dec,
        lonpole_deg=cfg.lonpole,
        nblock=cfg.nblock,
        layout=cfg.layout,
        dtheta_deg=cfg.dtheta_deg,
        padsides=parse_padsides(cfg.pad_sides),
    )


def target_area(cfg: Config) -> TargetArea:
    """The area a survey must cover for this mosaic (the mosaic grown by INPAD)."""
    return TargetArea(mosaic_geometry(cfg), cfg.inpad_out_px, cfg.use_filter)


def plan_settings(cfg: Config, strip_rows: int | None = None, mode: str = "wcs") -> PlanSettings:
    """The planner's settings for a configuration (``mode``: see `pyimcom.plan.PlanSettings`)."""
    return PlanSettings(
        geometry=mosaic_geometry(cfg),
        margin_out_px=cfg.inpad_out_px,
        filter_code=cfg.use_filter,
        indir=cfg.inpath,
        informat=get_format(cfg.informat),
        outstem=cfg.outstem,
        strip_rows=strip_rows,
        mode=mode,
    )


def engine_settings(cfg: Config) -> EngineSettings:
    """The engine's settings for a configuration."""
    targets = [(cfg.outpsf, cfg.sigmatarget)] + list(
        zip(cfg.outpsf_extra, cfg.sigmatarget_extra, strict=True)
    )
    solver = SolverSettings(kappac=tuple(float(k) for k in cfg.kappaC_arr), ucmin=cfg.uctarget,
                            smax=cfg.sigmamax, iter_rtol=cfg.iter_rtol, iter_max=cfg.iter_max,
                            empirnqc=bool(cfg.no_qlt_ctrl))  # fmt: skip
    return EngineSettings(
        ov=int(cfg.inpsf_oversamp), nc=cfg.psf_nc, nfft=scipy.fft.next_fast_len(3 * cfg.psf_nc + 1),
        dscale=cfg.dscale_out_px,
        rho=cfg.inpad_out_px, targets=tuple(targets), lambda_over_d=LAMBDA_OVER_D_NATIVE[cfg.use_filter],
        linear_algebra=cfg.linear_algebra, solver=solver, fade=cfg.fade_kernel, interp_kernel=cfg.psf_interp,
        psfcirc=cfg.psf_circ, psfnorm=cfg.psf_norm, amppen=tuple(cfg.amp_penalty), flatpen=cfg.flat_penalty,
        precision=cfg.la_precision,
    )  # fmt: skip


def layer_settings(cfg: Config) -> LayerSettings:
    """The layer builder's settings for a configuration (recipes, draw PSF, masks, cache stem)."""
    if cfg.inpsfdraw_path is not None:
        draw = (cfg.inpsfdraw_path, cfg.inpsfdraw_format, int(cfg.inpsfdraw_oversamp))
    else:
        draw = (cfg.inpsf_path, cfg.inpsf_format, int(cfg.inpsf_oversamp))
    return LayerSettings(
        extrainput=tuple(cfg.extrainput[1:]), informat=cfg.informat, filter_name=filter_name(cfg.use_filter),
        draw_psf=draw, pmask=cfg.permanent_mask, cmask=float(cfg.cr_mask_rate),
        labnoise_threshold=float(cfg.labnoisethreshold), indir=cfg.inpath, cache_stem=cfg.inlayercache,
    )  # fmt: skip


def input_image(cfg: Config, obsid: int, sca: int, source=None, obs=None) -> InputImage:
    """The `InputImage` of ``(obsid, sca)`` (WCS and shape from the science header)."""
    fmt = get_format(cfg.informat)
    obs = obs if obs is not None else read_obs_table(cfg.obsfile)
    path = fmt.science_path(cfg.inpath, filter_name(cfg.use_filter), obsid, sca)
    shape = fmt.read_shape(path)
    psf = InputPSF(
        psf_path(cfg.inpsf_path, cfg.inpsf_format, obsid), cfg.inpsf_format, cfg.inpsf_oversamp, shape
    )
    pointing = (float(obs.ra_deg[obsid]), float(obs.dec_deg[obsid]), float(obs.pa_deg[obsid]))
    return InputImage(obsid, sca, path, fmt.read_wcs(path), shape, pointing, source, psf)
