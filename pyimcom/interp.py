"""Separable 2-D interpolation of sampled functions with the D5512 and G4460 kernels.

PyIMCOM interpolates sampled PSFs and PSF overlap arrays at arbitrary positions (reference core
§4.2, §4.4, §4.6).  Two kernels are available:

* ``"D5512"`` (default; Hirata et al. 2024, MNRAS 528, 2533, App. A): 10 taps, half width 4, uses
  samples ``floor(x) - 4 ... floor(x) + 5``;
* ``"G4460"``: 8 taps, half width 3, uses samples ``floor(x) - 3 ... floor(x) + 4``.

Both are exactly interpolating at the samples, reproduce constants and linear functions (to about
1e-9 and 1e-8), and are symmetric under ``f -> 1 - f``.

Positions follow the pixel contract of `pyimcom.geometry`: coordinates are 0-based in units of grid
samples, an integer is a sample centre, ``x`` runs along the last (fastest) grid axis and ``y`` along
the one before (``grid[..., y, x]``).  A position whose taps would leave the grid (D5512: unless
``4 <= floor(x) < nx - 5`` and ``4 <= floor(y) < ny - 5``; G4460: ``3 <= floor(x) < nx - 4``, same
in y), or that is NaN or infinite, gives exactly 0.  NaN values in the grid propagate to every point
whose taps touch them.

Three call patterns are provided, each backed by a parallel numba kernel in
`pyimcom._kernels.interp` (thread count: ``numba.set_num_threads``):

* `interpolate_points` -- scattered points, one or several layers of one grid;
* `interpolate_symmetric` -- a symmetric square matrix of values at lags (only the upper triangle
  is interpolated);
* `interpolate_grid` -- for each of several sets, a rectilinear grid of positions (1-D weights are
  computed once per row and column);
* `interpolate_pair_lags` -- one of several grids per pair, at the lags between two sets of positions
  (the A sub-matrices of the coaddition engine; `pyimcom._kernels.submatrix`).
"""

from __future__ import annotations

import numpy as np

from ._kernels.fused import points_one_grid
from ._kernels.interp import (
    D5512_EVEN,
    D5512_ODD,
    G4460_EVEN,
    G4460_ODD,
    _interp_grid,
    _interp_points,
    _interp_symmetric,
    _weights_1d,
)
from ._kernels.submatrix import pair_submatrix
from .errors import PyIMCOMValueError

__all__ = [
    "KERNELS",
    "kernel_half_width",
    "interp_weights",
    "interpolate_points",
    "interpolate_symmetric",
    "interpolate_grid",
    "interpolate_pair_lags",
]

KERNELS = ("D5512", "G4460")

_TABLES = {
    "D5512": (D5512_EVEN, D5512_ODD),
    "G4460": (G4460_EVEN, G4460_ODD),
}


def _tables(kernel):
    """Coefficient tables ``(even, odd)`` of a kernel name; raises for an unknown name."""
    if not isinstance(kernel, str) or kernel not in _TABLES:
        raise PyIMCOMValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    return _TABLES[kernel]


def _real_array(value, name, ndim=None):
    """``value`` as a C-contiguous float64 array; raises unless it is real numeric (not bool)."""
    arr = np.asarray(value)
    is_real = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == bool or not is_real:
        raise PyIMCOMValueError(
            f"{name} must be a real numeric array (integer or float); got dtype {arr.dtype}"
        )
    if ndim is not None and arr.ndim not in ndim:
        wanted = " or ".join(f"{n}-D" for n in ndim)
        raise PyIMCOMValueError(f"{name} must be {wanted}; got shape {arr.shape}")
    return np.asarray(arr, dtype=np.float64, order="C")


def kernel_half_width(kernel):
    """Half width ``h`` of an interpolation kernel.

    Tap ``k`` (``k = 0 ... 2h + 1``) multiplies sample ``floor(x) - h + k``, so a position is valid
    when ``h <= floor(x) < n - h - 1`` along an axis of ``n`` samples.

    Parameters
    ----------
    kernel : str
        Kernel name, one of `KERNELS` (``"D5512"`` or ``"G4460"``).

    Returns
    -------
    h : int
        Half width [samples]: 4 for D5512, 3 for G4460.

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is not one of `KERNELS`.

    Examples
    --------
    >>> from pyimcom.interp import kernel_half_width
    >>> kernel_half_width("D5512"), kernel_half_width("G4460")
    (4, 3)
    """
    even, _ = _tables(kernel)
    return even.shape[0] - 1


def interp_weights(kernel, f):
    """1-D weights of an interpolation kernel at fractional offset(s) ``f``.

    Parameters
    ----------
    kernel : str
        Kernel name, one of `KERNELS`.
    f : float or array_like, shape (n,)
        Fractional offset ``x - floor(x)`` [samples], in [0, 1].

    Returns
    -------
    w : ndarray, shape (K,) or (n, K), float64
        Weights; ``w[..., k]`` multiplies sample ``floor(x) - h + k`` with ``K = 2h + 2`` taps
        (``h`` from `kernel_half_width`).  Shape ``(K,)`` for a scalar ``f``.

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is unknown, or ``f`` is not real, not scalar or 1-D, or outside [0, 1] (NaN
        included).

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.interp import interp_weights
    >>> w = interp_weights("D5512", 0.25)
    >>> w.shape, bool(abs(w.sum() - 1.0) < 1e-9)
    ((10,), True)
    >>> np.round(interp_weights("G4460", [0.0, 1.0]), 6)[:, 2:6] + 0.0  # + 0.0 drops signs of zeros
    array([[0., 1., 0., 0.],
           [0., 0., 1., 0.]])
    """
    even, odd = _tables(kernel)
    f_arr = _real_array(f, "f", ndim=(0, 1))
    if not np.all((f_arr >= 0.0) & (f_arr <= 1.0)):
        bad = f_arr[~((f_arr >= 0.0) & (f_arr <= 1.0))].ravel()[0]
        raise PyIMCOMValueError(f"f must lie in [0, 1] (fractional sample offset); got {bad}")
    ntap = 2 * even.shape[0]
    f_flat = f_arr.reshape(-1)
    w = np.empty((f_flat.size, ntap))
    for i, fi in enumerate(f_flat):
        _weights_1d(float(fi), even, odd, w[i])
    return w[0] if f_arr.ndim == 0 else w


def interpolate_points(grid, x, y, kernel="D5512"):
    """Interpolate one or several layers of a grid at scattered points (pattern 1).

    Parameters
    ----------
    grid : array_like, shape (ny, nx) or (nlayer, ny, nx), real
        Sampled function(s), indexed ``[..., y, x]``, any unit; converted to float64.
    x, y : array_like, same shape ``S``, real
        Positions [grid samples] (pixel contract of `pyimcom.geometry`).  Points whose taps leave the
        grid, or that are NaN/inf, give 0.
    kernel : str, optional
        Kernel name, one of `KERNELS`.  Default: ``"D5512"``.

    Returns
    -------
    values : ndarray, shape S (2-D grid) or (nlayer,) + S (3-D grid), float64
        Interpolated values, in the unit of ``grid``.

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is unknown, ``grid`` is not 2-D or 3-D, ``x`` and ``y`` differ in shape, or an
        array is not real numeric.

    Examples
    --------
    A linear function is reproduced; the second point is too close to the edge and gives 0.

    >>> import numpy as np
    >>> from pyimcom.interp import interpolate_points
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> grid = 2.0 * xx + 3.0 * yy
    >>> np.round(interpolate_points(grid, [10.25, 27.5], [12.5, 5.0]), 6)
    array([58.,  0.])
    """
    even, odd = _tables(kernel)
    grid_arr = _real_array(grid, "grid", ndim=(2, 3))
    x_arr = _real_array(x, "x")
    y_arr = _real_array(y, "y")
    if x_arr.shape != y_arr.shape:
        raise PyIMCOMValueError(f"x and y must have the same shape; got {x_arr.shape} and {y_arr.shape}")
    layers = grid_arr if grid_arr.ndim == 3 else grid_arr[np.newaxis]
    out = np.empty((layers.shape[0], x_arr.size))
    if layers.shape[0] == 1:
        points_one_grid(layers[0], x_arr.reshape(-1), y_arr.reshape(-1), even, odd, out[0])
    else:
        _interp_points(layers, x_arr.reshape(-1), y_arr.reshape(-1), even, odd, out)
    if grid_arr.ndim == 2:
        return out.reshape(x_arr.shape)
    return out.reshape((layers.shape[0],) + x_arr.shape)


def interpolate_symmetric(grid, dx, dy, kernel="D5512"):
    """Interpolate a grid at a square matrix of lags whose result is symmetric (pattern 2).

    Used for the diagonal sub-blocks of the system matrix A, where ``A[i, j] = A[j, i]``: only the
    upper triangle including the diagonal is interpolated and then mirrored.

    Parameters
    ----------
    grid : array_like, shape (ny, nx), real
        Sampled function (e.g. a zero-padded PSF overlap array), indexed ``[y, x]``; any unit.
    dx, dy : array_like, shape (n, n), real
        Positions [grid samples] (pixel contract of `pyimcom.geometry`); entry ``[i, j]`` with
        ``j >= i`` defines output ``[i, j]`` and ``[j, i]``.  Entries below the diagonal are not read.
        Invalid positions (taps off the grid, NaN, inf) give 0.
    kernel : str, optional
        Kernel name, one of `KERNELS`.  Default: ``"D5512"``.

    Returns
    -------
    values : ndarray, shape (n, n), float64
        Symmetric matrix of interpolated values, in the unit of ``grid``.

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is unknown, ``grid`` is not 2-D, ``dx``/``dy`` are not square 2-D arrays of the
        same shape, or an array is not real numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.interp import interpolate_symmetric
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> grid = np.exp(-((xx - 15.5) ** 2 + (yy - 15.5) ** 2) / 50.0)
    >>> pos = np.array([0.0, 1.5, 3.0])
    >>> lag = 15.5 + pos[:, None] - pos[None, :]
    >>> a = interpolate_symmetric(grid, lag, np.full((3, 3), 15.5))
    >>> bool(np.array_equal(a, a.T)), bool(abs(a[0, 0] - 1.0) < 1e-6)
    (True, True)
    """
    even, odd = _tables(kernel)
    grid_arr = _real_array(grid, "grid", ndim=(2,))
    dx_arr = _real_array(dx, "dx", ndim=(2,))
    dy_arr = _real_array(dy, "dy", ndim=(2,))
    if dx_arr.shape[0] != dx_arr.shape[1]:
        raise PyIMCOMValueError(f"dx must be a square (n, n) array; got shape {dx_arr.shape}")
    if dy_arr.shape != dx_arr.shape:
        raise PyIMCOMValueError(f"dy must have the shape of dx {dx_arr.shape}; got {dy_arr.shape}")
    out = np.empty(dx_arr.shape)
    _interp_symmetric(grid_arr, dx_arr, dy_arr, even, odd, out)
    return out


def interpolate_grid(grid, xs, ys, kernel="D5512", out=None):
    """Interpolate a grid on rectilinear sets of positions (pattern 3, "grid mode").

    For each set ``i`` the positions are the outer product of a row list ``ys[i]`` and a column list
    ``xs[i]``; the 1-D weights are computed once per row and per column.  Used for the b vectors,
    where for each input pixel the output pixels of a postage stamp form such a grid.

    Parameters
    ----------
    grid : array_like, shape (ny, nx), real
        Sampled function, indexed ``[y, x]``; any unit.
    xs : array_like, shape (npi, nxo), real
        Column positions of each set [grid samples] (pixel contract of `pyimcom.geometry`).
    ys : array_like, shape (npi, nyo), real
        Row positions of each set [grid samples].
    kernel : str, optional
        Kernel name, one of `KERNELS`.  Default: ``"D5512"``.
    out : ndarray, shape (npi, nyo * nxo), float64, optional
        Where to write the values; may be a strided view (e.g. the transpose of a slice of a larger
        array), which saves a copy.  Default: a new array.

    Returns
    -------
    values : ndarray, shape (npi, nyo * nxo), float64
        ``values[i, r * nxo + c]`` is the grid interpolated at ``(xs[i, c], ys[i, r])`` (x fastest), in
        the unit of ``grid``; 0 where the column or row position is invalid (taps off the grid,
        NaN, inf).  ``out`` when given.

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is unknown, an array has the wrong number of dimensions, ``xs`` and ``ys`` differ
        in their first dimension, or an array is not real numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.interp import interpolate_grid
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> grid = 2.0 * xx + 3.0 * yy
    >>> v = interpolate_grid(grid, [[10.0, 10.5]], [[12.0, 12.25, 13.0]])
    >>> v.shape
    (1, 6)
    >>> np.round(v, 6)
    array([[56.  , 57.  , 56.75, 57.75, 59.  , 60.  ]])
    """
    even, odd = _tables(kernel)
    grid_arr = _real_array(grid, "grid", ndim=(2,))
    xs_arr = _real_array(xs, "xs", ndim=(2,))
    ys_arr = _real_array(ys, "ys", ndim=(2,))
    if xs_arr.shape[0] != ys_arr.shape[0]:
        raise PyIMCOMValueError(
            f"xs and ys must have the same number of sets (first dimension npi); got xs {xs_arr.shape} "
            f"and ys {ys_arr.shape}"
        )
    shape = (xs_arr.shape[0], ys_arr.shape[1] * xs_arr.shape[1])
    if out is None:
        out = np.empty(shape)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == shape):
        got = (getattr(out, "shape", None), getattr(out, "dtype", type(out)))
        raise PyIMCOMValueError(f"out must be a float64 array of shape {shape}; got shape and dtype {got}")
    _interp_grid(grid_arr, xs_arr, ys_arr, even, odd, out)
    return out


def interpolate_pair_lags(grids, la, lb, pos_a, pos_b, scale, offset, kernel="D5512", symmetric=False):
    """Interpolate, for every pair of two sets of points, the pair's grid at their lag (pattern 4).

    ``out[i, j] = F[la[i], lb[j]]((x_a[i] - x_b[j]) / scale + offset, (y_a[i] - y_b[j]) / scale + offset)``:
    the A sub-matrix of two InStamps, where ``F[k, l]`` is the overlap array of images ``k`` and ``l``
    and the points are input pixels.

    Parameters
    ----------
    grids : array_like, shape (n_ka, n_kb, ny, nx), real
        Sampled functions, indexed ``[k, l, y, x]``; converted to C-contiguous float64.
    la, lb : array_like of int, shapes (na,) and (nb,)
        Grid index of each point of the first set (axis 0 of ``grids``) and of the second (axis 1).
    pos_a, pos_b : tuple of array_like
        ``(x, y)`` positions of the two sets [any unit; ``scale`` of them per grid sample].
    scale : float
        Position units per grid sample, > 0.
    offset : float
        Grid index of lag 0 on both axes [samples].
    kernel : str, optional
        Kernel name, one of `KERNELS`.  Default: ``"D5512"``.
    symmetric : bool, optional
        The two sets are the same points and the result is symmetric (``F[k, l](s) = F[l, k](-s)``):
        only ``j >= i`` is interpolated and mirrored.  Default: False.

    Returns
    -------
    values : ndarray, shape (na, nb), float64
        Interpolated values; 0 where the lag's taps leave the grid (or it is NaN/inf).  Agrees with
        `interpolate_points` to rounding (the tap sum may be reassociated).

    Raises
    ------
    PyIMCOMValueError
        If ``kernel`` is unknown, a shape disagrees, an index is outside its grid axis, ``scale`` is
        not > 0, or ``symmetric`` is set for two different sets.

    Examples
    --------
    >>> import numpy as np
    >>> from pyimcom.interp import interpolate_pair_lags
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> grids = (2.0 * xx + 3.0 * yy)[None, None]
    >>> pa = (np.array([1.0, 2.0]), np.array([0.0, 0.5]))
    >>> pb = (np.array([0.5]), np.array([1.0]))
    >>> v = interpolate_pair_lags(grids, [0, 0], [0], pa, pb, 0.5, 15.0)
    >>> np.round(v, 6).tolist()
    [[71.0], [78.0]]
    """
    even, odd = _tables(kernel)
    g = np.ascontiguousarray(_real_array(grids, "grids", ndim=(4,)))
    la_arr = np.ascontiguousarray(la, dtype=np.int64).reshape(-1)
    lb_arr = np.ascontiguousarray(lb, dtype=np.int64).reshape(-1)
    xa, ya = (_real_array(v, f"pos_a[{k}]", ndim=(1,)) for k, v in enumerate(pos_a))
    xb, yb = (_real_array(v, f"pos_b[{k}]", ndim=(1,)) for k, v in enumerate(pos_b))
    for name, idx, pos, n in (("la", la_arr, (xa, ya), g.shape[0]), ("lb", lb_arr, (xb, yb), g.shape[1])):
        if not (idx.size == pos[0].size == pos[1].size):
            raise PyIMCOMValueError(
                f"{name} and its positions must have the same length; got {idx.size}, {pos[0].size}, "
                f"{pos[1].size}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise PyIMCOMValueError(f"{name} must index axis of length {n} of grids; got range "
                                    f"[{idx.min()}, {idx.max()}]")  # fmt: skip
    if not (np.isfinite(scale) and scale > 0):
        raise PyIMCOMValueError(f"scale must be finite and > 0; got {scale}")
    same = np.array_equal(la_arr, lb_arr) and np.array_equal(xa, xb) and np.array_equal(ya, yb)
    if symmetric and not same:
        raise PyIMCOMValueError("symmetric=True needs the same points in both sets")
    out = np.empty((xa.size, xb.size))
    if out.size:
        pair_submatrix(g, la_arr, lb_arr, xa, ya, xb, yb, float(scale), float(offset), even, odd,
                       bool(symmetric), out)  # fmt: skip
    return out
