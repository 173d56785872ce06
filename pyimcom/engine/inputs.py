"""The input images of a block and the source of their layer stacks and masks.

An `InputImage` knows its identity ``(obsid, sca)``, its WCS and shape (from the header only) and the
exposure pointing (for the INDATA table).  Its pixels come from a *layer source*: any callable
``source(image) -> (stack, mask)`` returning the float32 stack ``(n_layer, ny, nx)`` (layer 0 =
science) and the bool usability mask ``(ny, nx)``.  `ScienceOnlySource` reads the science layer from
the input file; the layer cache provides the full stacks of every EXTRAINPUT recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from astropy.wcs import WCS

from ..errors import ConfigError
from ..io.science import ScienceFormat

__all__ = ["InputImage", "ScienceOnlySource"]


@dataclass(eq=False)
class InputImage:
    """One input image ``(obsid, sca)`` of a block.

    Parameters
    ----------
    obsid : int
        Observation ID (row of the observation table).
    sca : int
        SCA number, 1..18.
    path : str
        Science image file.
    wcs : astropy.wcs.WCS
        Celestial WCS (0-based pixels).
    shape : tuple of int
        ``(ny, nx)`` [pixels].
    pointing_deg : tuple of float
        ``(ra, dec, pa)`` of the exposure [deg].
    source : callable
        ``source(image) -> (stack, mask)``.
    psf : object
        The exposure's input PSF: ``psf.at(sca, x, y)`` returns the tophat-convolved, normalised
        oversampled PSF at SCA pixel ``(x, y)`` (e.g. `pyimcom.io.psf.InputPSF`).
    """

    obsid: int
    sca: int
    path: str
    wcs: WCS
    shape: tuple[int, int]
    pointing_deg: tuple[float, float, float]
    source: Callable = field(repr=False)
    psf: object = field(default=None, repr=False)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Layer stack float32 ``(n_layer, ny, nx)`` and usability mask bool ``(ny, nx)``."""
        return self.source(self)


@dataclass(frozen=True)
class ScienceOnlySource:
    """Layer source with the science layer only (``SCI - SKY_MEAN``), every pixel usable.

    Parameters
    ----------
    fmt : ScienceFormat
        Input format used to read the science image.
    extrainput : tuple of str
        The configuration's EXTRAINPUT; must be empty for this source.

    Raises
    ------
    ConfigError
        If EXTRAINPUT is not empty (the other layers need the layer recipes).
    """

    fmt: ScienceFormat
    extrainput: tuple[str, ...] = ()

    def __post_init__(self):
        if self.extrainput:
            raise ConfigError(
                f"EXTRAINPUT = {list(self.extrainput)!r}: only the science layer can be read without the "
                "layer recipes; use EXTRAINPUT [] or a layer source that builds the recipes"
            )

    def __call__(self, image: InputImage) -> tuple[np.ndarray, np.ndarray]:
        sci = self.fmt.read_science(image.path)
        return sci[None, :, :], np.ones(sci.shape, dtype=bool)
