"""Build the layer stack and the usability mask of one input image, and serve them through the cache.

`build_stack` evaluates every EXTRAINPUT recipe for one ``(obsid, sca)`` (layer 0 is the science
image); `CachedLayerSource` is the layer source the coadd engine uses: it reads
``{INLAYERCACHE}_{obsid:08d}_{sca:02d}.fits`` when it exists (checking the recipe hash) and otherwise
builds the stack, writing the cache files when a stem is configured -- so a block run outside
Snakemake still fills the cache, as the reference's ``stoptile`` warm-up did.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..cache import mask_path, read_mask, read_stack, recipe_hash, stack_path, write_mask, write_stack
from ..errors import ConfigError, InputFileError
from ..io.labnoise import labnoise_path, read_labnoise
from ..io.psf import InputPSF, psf_path
from ..io.science import get_format
from .filelayers import skyerr_layer, truth_layer
from .masks import image_mask
from .noise import one_over_f_noise, white_noise
from .recipes import parse_recipes

__all__ = ["LayerSettings", "build_stack", "CachedLayerSource"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerSettings:
    """Everything a layer stack depends on (hashed into the cache header).

    Parameters
    ----------
    extrainput : tuple of str
        EXTRAINPUT recipes.
    informat : str
        INDATA format tag.
    filter_name : str
        Filter of the mosaic (names the input files).
    draw_psf : tuple
        ``(directory, format, oversampling)`` of the PSF used to draw injected objects (INPSFDRAW, or
        INPSF when it is not set).
    pmask : str or None
        PMASK file.
    cmask : float
        CMASK hit probability per pixel.
    labnoise_threshold : float
        LABNOISETHRESHOLD.
    indir : str
        INDATA directory (holds ``labnoise/``); not part of the hash. Default: ``""``.
    cache_stem : str or None
        INLAYERCACHE (not part of the hash). Default: None.
    """

    extrainput: tuple[str, ...]
    informat: str
    filter_name: str
    draw_psf: tuple[str, str, int]
    pmask: str | None
    cmask: float
    labnoise_threshold: float
    indir: str = ""
    cache_stem: str | None = None

    @property
    def layer_names(self) -> list[str]:
        """``["SCI", *EXTRAINPUT]``."""
        return ["SCI", *self.extrainput]

    def recipe_hash(self) -> str:
        """Hash of the recipe-relevant settings."""
        d = asdict(self)
        d.pop("cache_stem")
        d.pop("indir")
        return recipe_hash(d)


def _layer(recipe, image, settings: LayerSettings, ny: int, nx: int) -> np.ndarray:
    fam, args = recipe.family, recipe.args
    if fam == "whitenoise":
        return white_noise(image.obsid, image.sca, args[0], nside=nx)
    if fam == "1fnoise":
        return one_over_f_noise(image.obsid, image.sca, args[0], nside=nx)
    if fam == "labnoise":
        path = labnoise_path(settings.indir, image.obsid, image.sca)
        return read_labnoise(path, nside=nx)
    if fam == "truth":
        fmt, ident = get_format(settings.informat), (settings.filter_name, image.obsid, image.sca)
        return truth_layer(fmt, settings.indir, *ident, (ny, nx), scale=args[0])
    if fam == "skyerr":
        return skyerr_layer(get_format(settings.informat), image.path, (ny, nx))
    if fam in ("cstar", "nstar", "gsstar", "gstrstar", "gsfdstar", "gsext", "gsextchrom"):
        return _point_sources(recipe, image, settings, ny, nx)
    raise ConfigError(f"EXTRAINPUT entry {recipe.text!r}: the {fam!r} layer recipe is not implemented yet")


def _point_sources(recipe, image, settings: LayerSettings, ny: int, nx: int) -> np.ndarray:
    from .galaxy_params import GsextOptions
    from .galsim_ext import gsext_layer, gsfdstar_layer, gstrstar_layer
    from .galsim_stars import gsstar_layer
    from .points import cstar_layer, nstar_layer

    d, fmt, ov = settings.draw_psf
    psf = InputPSF(psf_path(d, fmt, image.obsid), fmt, ov, (ny, nx))
    fam, args, wcs, sca = recipe.family, recipe.args, image.wcs, image.sca
    if fam in ("gsext", "gsextchrom"):
        opts = GsextOptions.from_recipe(args[-1], recipe.text)
        if fam == "gsextchrom":  # <psfdir> holds the same file layout, format and oversampling
            psf = InputPSF(psf_path(args[1], fmt, image.obsid), fmt, ov, (ny, nx))
        return gsext_layer(wcs, (ny, nx), args[0], opts, lambda x, y: psf.at(sca, x, y), ov)[0]
    if fam == "gstrstar":
        return gstrstar_layer(wcs, (ny, nx), args[0], sca, lambda x, y: psf.at(sca, x, y), ov)[0]
    if fam == "gsfdstar":
        return gsfdstar_layer(wcs, (ny, nx), args[0], args[1], sca, lambda x, y: psf.at(sca, x, y), ov)[0]
    draw = gsstar_layer if recipe.family == "gsstar" else cstar_layer
    img, _ = draw(image.wcs, (ny, nx), recipe.args[0], lambda x, y: psf.at(image.sca, x, y), ov)
    if recipe.family in ("cstar", "gsstar"):
        return img
    _, flux, sky, q = recipe.args
    return nstar_layer(img, flux, sky, image.obsid, image.sca, q)


def build_stack(image, settings: LayerSettings) -> tuple[np.ndarray, np.ndarray]:
    """Layer stack float32 ``(1 + len(EXTRAINPUT), ny, nx)`` and mask bool ``(ny, nx)`` of one image.

    Parameters
    ----------
    image : pyimcom.engine.inputs.InputImage
        The input image (identity, science path, WCS, shape).
    settings : LayerSettings
        Recipes and mask settings.
    """
    t0 = time.monotonic()
    ny, nx = image.shape
    recipes = parse_recipes(settings.extrainput)
    stack = np.empty((1 + len(recipes), ny, nx), dtype=np.float32)
    stack[0] = get_format(settings.informat).read_science(image.path)
    labnoise = None
    for k, recipe in enumerate(recipes, start=1):
        stack[k] = _layer(recipe, image, settings, ny, nx)
        if recipe.family == "labnoise":
            labnoise = stack[k]
        logger.info("(%d, %d) layer %d of %d (%s) built; %.1f s elapsed", image.obsid, image.sca, k,
                    len(recipes), recipe.text, time.monotonic() - t0)  # fmt: skip
    mask = image_mask(image.obsid, image.sca, (ny, nx), pmask_path=settings.pmask, cr_rate=settings.cmask,
                      labnoise=labnoise, labnoise_threshold=settings.labnoise_threshold)  # fmt: skip
    return stack, mask


@dataclass(frozen=True)
class CachedLayerSource:
    """Layer source for the engine: the cached stack if present (hash-checked), else built (and cached).

    Parameters
    ----------
    settings : LayerSettings
        Recipes, masks and the cache stem (``None``: never read or write a cache).
    """

    settings: LayerSettings

    def paths(self, obsid: int, sca: int) -> tuple[str, str] | None:
        """``(stack, mask)`` cache files of an image, or None without a cache stem."""
        stem = self.settings.cache_stem
        return None if not stem else (stack_path(stem, obsid, sca), mask_path(stem, obsid, sca))

    def __call__(self, image) -> tuple[np.ndarray, np.ndarray]:
        paths = self.paths(image.obsid, image.sca)
        rhash = self.settings.recipe_hash()
        if paths and os.path.exists(paths[0]):
            stack = read_stack(paths[0], rhash, self.settings.layer_names)
            if not os.path.exists(paths[1]):
                raise InputFileError(f"layer cache {paths[0]} exists but its mask {paths[1]} does not")
            return stack, read_mask(paths[1])
        stack, mask = build_stack(image, self.settings)
        if paths:
            write_mask(paths[1], mask)
            write_stack(paths[0], stack, image.wcs.to_header(relax=True), self.settings.layer_names, rhash)
        return stack, mask
