"""Which layers are catalogued, and their per-layer parameter columns (layers spec §3.2, §3.3, §3.5).

Galaxy columns describe the galaxy as the ``gsext`` layers draw it: parameters from
`pyimcom.layers.galaxy_params.galaxy_params` keyed by the NESTED HEALPix index, shape from the
composed matrix ``M = J_s R J_g`` of `pyimcom.layers.galaxy_params.sky_shape_matrix` (sky frame
X = West, Y = North): ``g1, g2`` are the reduced shear of ``M M^T`` and the half-light radius is the
area-equivalent one, ``r sqrt(|det M|)``.
"""

from __future__ import annotations

import numpy as np

from ..layers.galaxy_params import GsextOptions, galaxy_params, reduced_shear, sky_shape_matrix
from ..layers.recipes import Recipe, parse_recipes

__all__ = ["CATALOGUED_FAMILIES", "catalogued_layers", "drawn_galaxy_shape", "layer_columns"]

CATALOGUED_FAMILIES = ("cstar", "nstar", "gsstar", "gstrstar", "gsfdstar", "gsext", "gsextchrom")
_GALAXY_FAMILIES = ("gsext", "gsextchrom")


def catalogued_layers(extrainput) -> dict[int, list[tuple[int, Recipe]]]:
    """Group the catalogued EXTRAINPUT layers by HEALPix resolution.

    Parameters
    ----------
    extrainput : sequence of str
        The EXTRAINPUT strings (without the science layer), in configuration order.

    Returns
    -------
    dict
        ``{n: [(k, recipe), ...]}`` in increasing ``n``; ``k`` is the layer's index in the output cube
        (1-based EXTRAINPUT position); layers keep configuration order.

    Raises
    ------
    ConfigError
        If an entry is not a known layer recipe.

    Examples
    --------
    >>> groups = catalogued_layers(["whitenoise1", "gsstar14", "cstar12", "gsext14,seed=5"])
    >>> {n: [k for k, _ in v] for n, v in groups.items()}
    {12: [3], 14: [2, 4]}
    """
    groups: dict[int, list[tuple[int, Recipe]]] = {}
    for k, recipe in enumerate(parse_recipes(extrainput), start=1):
        if recipe.family in CATALOGUED_FAMILIES:
            groups.setdefault(int(recipe.args[0]), []).append((k, recipe))
    return dict(sorted(groups.items()))


def drawn_galaxy_shape(resolution_n: int, ipix_nest, opts: GsextOptions):
    """Half-light radius, ellipticity and Sersic index of the galaxies as the gsext layers draw them.

    The parameters come from `pyimcom.layers.galaxy_params.galaxy_params` for the NESTED indices;
    the drawn profile is the round Sersic profile mapped by ``M = J_s R J_g``
    (`pyimcom.layers.galaxy_params.sky_shape_matrix`, sky frame X = West, Y = North).

    Parameters
    ----------
    resolution_n : int
        HEALPix resolution.
    ipix_nest : array_like of int, shape (m,)
        NESTED indices.
    opts : GsextOptions
        Options of the layer recipe.

    Returns
    -------
    hlr_arcsec, g1, g2, sersic_n : numpy.ndarray
        float64, shape (m,): area-equivalent half-light radius ``r sqrt(|det M|)`` [arcsec]; reduced
        shear ``(g1, g2)`` of ``M M^T``; Sersic index.

    Examples
    --------
    >>> opts = GsextOptions(hlr_arcsec=0.2, shape=(0.1, 0.0), rot_deg=45.0)
    >>> hlr, g1, g2, n = drawn_galaxy_shape(14, [7], opts)
    >>> [round(float(v[0]), 12) for v in (hlr, g1, g2, n)]
    [0.2, 0.0, 0.1, 1.0]
    """
    params = galaxy_params(resolution_n, ipix_nest, opts)
    matrix = sky_shape_matrix(params["g1"], params["g2"], opts)
    g1, g2 = reduced_shear(matrix)
    det = matrix[..., 0, 0] * matrix[..., 1, 1] - matrix[..., 0, 1] * matrix[..., 1, 0]
    hlr = params["hlr_arcsec"] * np.sqrt(np.abs(det))
    return hlr, np.asarray(g1, dtype=np.float64), np.asarray(g2, dtype=np.float64), params["sersic_n"].copy()


def layer_columns(recipe: Recipe, k: int, ipix_nest: np.ndarray) -> dict[str, np.ndarray]:
    """Per-layer parameter columns (suffix ``_L<k>``) for the objects ``ipix_nest`` of one layer.

    Galaxy layers (``gsext``, ``gsextchrom``): ``sersic_r_L<k>`` [arcsec], ``g1_L<k>``, ``g2_L<k>``,
    ``sersic_n_L<k>`` (`drawn_galaxy_shape`); ``gsfdstar``: ``fdm_amp_L<k>`` (the amplitude A);
    other families: no columns.

    Raises
    ------
    ConfigError
        If the galaxy options of the recipe are invalid.

    Examples
    --------
    >>> from pyimcom.layers.recipes import parse_recipe
    >>> layer_columns(parse_recipe("gsfdstar14,0.05"), 3, np.array([1, 2]))
    {'fdm_amp_L3': array([0.05, 0.05])}
    """
    n = int(recipe.args[0])
    ipix_nest = np.asarray(ipix_nest, dtype=np.int64)
    if recipe.family in _GALAXY_FAMILIES:
        opts = GsextOptions.from_recipe(recipe.args[-1], recipe.text)
        hlr, g1, g2, sersic_n = drawn_galaxy_shape(n, ipix_nest, opts)
        return {f"sersic_r_L{k}": hlr, f"g1_L{k}": g1, f"g2_L{k}": g2, f"sersic_n_L{k}": sersic_n}
    if recipe.family == "gsfdstar":
        return {f"fdm_amp_L{k}": np.full(ipix_nest.size, float(recipe.args[1]))}
    return {}
