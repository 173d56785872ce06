"""Numba kernels of the separable 2-D interpolators D5512 and G4460.

A kernel with ``ntap`` taps (even) and half width ``h = ntap // 2 - 1`` interpolates a grid ``F`` at
``(x, y)`` as ``sum_{a,b} w_a(f_y) w_b(f_x) F[y0 - h + a, x0 - h + b]`` with ``x0 = floor(x)``,
``f_x = x - x0`` (same in y).  The 1-D weights are polynomials in ``t = f - 1/2`` and ``u = t**2``:
tap ``k < ntap // 2`` gets ``E_k(u) + t O_k(u)`` and its mirror tap ``ntap - 1 - k`` gets
``E_k(u) - t O_k(u)``.  The coefficient tables below hold ``E_k`` and ``O_k`` in ascending powers of
``u`` (row ``k``, column = power).

A point is *valid* when every tap lies on the grid, i.e. ``h <= x0 <= nx - ntap + h`` and the same in
y (D5512: ``4 <= x0 < nx - 5``; G4460: ``3 <= x0 < nx - 4``).  The test is made on the float
coordinate (``h <= x < nx - ntap + h + 1``), which is equivalent for finite values and rejects NaN and
infinities.  Invalid points give exactly 0.  Coordinates follow the pixel contract of
`pyimcom.geometry` (0-based, integer = sample centre, ``x`` along the last grid axis).

All kernels take the coefficient tables ``even`` and ``odd`` (float64, shape ``(ntap // 2, ndeg)``)
as arguments, read their inputs only, and write only into ``out``.  ``out`` must not overlap any
input.  Parallel kernels split the work into disjoint sets of output entries, so they are free of
races; concurrent calls from several Python threads need numba's ``tbb`` or ``omp`` threading layer
(the ``workqueue`` layer aborts on concurrent use).
"""

import numpy as np
from numba import njit, prange

# Coefficient tables of the 1-D weights, ascending powers of u = (f - 1/2)**2; row k = tap k and its
# mirror.  D5512 is the kernel of Hirata et al. 2024, MNRAS 528, 2533, Appendix A (10 taps, h = 4);
# G4460 is its 8-tap companion (h = 3).  Numbers as used by the reference C kernels (furry-parakeet).
D5512_EVEN = np.array(
    [
        [
            +6.187591260980151433e-04,
            -2.904014557029917318e-03,
            +1.793518183780194427e-03,
            -3.145538007199505447e-04,
            +1.651881673372979740e-05,
        ],
        [
            -6.753293626461192439e-03,
            +3.147734488597204311e-02,
            -1.857047531896089884e-02,
            +2.883845374976550142e-03,
            -1.146756217210629335e-04,
        ],
        [
            +3.620560878249733799e-02,
            -1.659182651092198924e-01,
            +8.678848026470635524e-02,
            -9.702063770653997568e-03,
            +3.256838096371517067e-04,
        ],
        [
            -1.367845996704077915e-01,
            +5.879306056792649171e-01,
            -1.668775957435094937e-01,
            +1.494862093737218955e-02,
            -4.541830837949564726e-04,
        ],
        [
            +6.067135256905490381e-01,
            -4.505856722239036105e-01,
            +9.686607348538181506e-02,
            -7.815848920941316502e-03,
            +2.266560930061513573e-04,
        ],
    ]
)
D5512_ODD = np.array(
    [
        [
            -1.338434614116611838e-04,
            +6.279918076641771273e-04,
            -3.871378836550175566e-04,
            +6.753750285320532433e-05,
            -3.486978652054735998e-06,
        ],
        [
            +1.898674086370833597e-03,
            -8.847326408846412429e-03,
            +5.209574765466357636e-03,
            -8.040343683015897672e-04,
            +3.121412120355294799e-05,
        ],
        [
            -1.436476114189205733e-02,
            +6.581033749134083954e-02,
            -3.434861846914529643e-02,
            +3.804930695189636097e-03,
            -1.243658986204533102e-04,
        ],
        [
            +9.092432925988773451e-02,
            -3.906954914039130755e-01,
            +1.104231510875857830e-01,
            -9.794291009695265532e-03,
            +2.894406669584551734e-04,
        ],
        [
            -1.213035309579723942e00,
            +8.993141455798455697e-01,
            -1.925091434770601628e-01,
            +1.537862263741893339e-02,
            -4.336085507644610966e-04,
        ],
    ]
)
G4460_EVEN = np.array(
    [
        [
            -3.218793564129918301e-03,
            +1.489357881497986071e-02,
            -8.346150277012355859e-03,
            +1.090241015907705748e-03,
        ],
        [
            +2.764626022703594449e-02,
            -1.257688787584933243e-01,
            +6.207662245188737965e-02,
            -5.365623477277001695e-03,
        ],
        [
            -1.261308835258499739e-01,
            +5.379680265947927031e-01,
            -1.361672168169716368e-01,
            +9.557928923242215574e-03,
        ],
        [
            +6.017034115294895846e-01,
            -4.270927015819955264e-01,
            +8.243672901563993405e-02,
            -5.282543715465623166e-03,
        ],
    ]
)
G4460_ODD = np.array(
    [
        [
            +8.625400315852317906e-04,
            -3.986572101005442584e-03,
            +2.215914661693180968e-03,
            -2.810791914341332991e-04,
        ],
        [
            -1.069020701233798672e-02,
            +4.857459045472510561e-02,
            -2.374248828326114974e-02,
            +1.949836954158683851e-03,
        ],
        [
            +8.304316504950222388e-02,
            -3.537324186515616309e-01,
            +8.769262184610496225e-02,
            -5.814593901233612756e-03,
        ],
        [
            -1.201716239188013402e00,
            +8.462303031151944266e-01,
            -1.598768234801794252e-01,
            +9.662150705170477125e-03,
        ],
    ]
)
for _table in (D5512_EVEN, D5512_ODD, G4460_EVEN, G4460_ODD):
    _table.setflags(write=False)
del _table

# Scattered points handled by one parallel work item (amortises the per-item weight buffers).
_CHUNK = 64


@njit(cache=True)
def _weights_fixed(f, even, odd, w, nhalf, ndeg):
    """Body of `_weights_1d` for ``nhalf`` tap pairs and ``ndeg`` coefficients (constants when inlined)."""
    ntap = 2 * nhalf
    t = f - 0.5
    u = t * t
    for k in range(nhalf):
        e = even[k, ndeg - 1]
        o = odd[k, ndeg - 1]
        for p in range(ndeg - 2, -1, -1):
            e = e * u + even[k, p]
            o = o * u + odd[k, p]
        w[k] = e + t * o
        w[ntap - 1 - k] = e - t * o


@njit(cache=True)
def _weights_1d(f, even, odd, w):
    """Write the 1-D weights of fractional offset ``f`` into ``w``.

    Parameters
    ----------
    f : float
        Fractional offset ``x - floor(x)`` [samples], normally in [0, 1]; not checked.
    even, odd : ndarray, shape (ntap // 2, ndeg), float64
        Coefficient tables (ascending powers of ``u``).
    w : ndarray, shape (ntap,), float64
        Output: ``w[k]`` multiplies sample ``floor(x) - h + k``.  Thread-safe for distinct ``w``.

    Notes
    -----
    The table sizes of D5512 (5, 5) and G4460 (4, 4) are passed on as literals so that the compiler
    unrolls the loops; other sizes take the generic path.
    """
    nhalf, ndeg = even.shape
    if nhalf == 5 and ndeg == 5:
        _weights_fixed(f, even, odd, w, 5, 5)
    elif nhalf == 4 and ndeg == 4:
        _weights_fixed(f, even, odd, w, 4, 4)
    else:
        _weights_fixed(f, even, odd, w, nhalf, ndeg)


@njit(cache=True)
def _tap_sum_fixed(grid2d, iy, ix, wx, wy, ntap):
    """Body of `_tap_sum` for ``ntap`` taps (a constant when inlined)."""
    # unsigned indices: numba then skips its negative-index wraparound test on every load
    total = 0.0
    for a in range(ntap):
        row = 0.0
        r = np.uint64(iy + a)
        for b in range(ntap):
            row += wx[b] * grid2d[r, np.uint64(ix + b)]
        total += wy[a] * row
    return total


@njit(cache=True)
def _tap_sum(grid2d, iy, ix, wx, wy):
    """``sum_{a,b} wy[a] wx[b] grid2d[iy + a, ix + b]``; the caller guarantees the taps are on the grid.

    The tap counts of D5512 (10) and G4460 (8) are passed on as literals (unrolled loops).
    """
    ntap = wx.shape[0]
    if ntap == 10:
        return _tap_sum_fixed(grid2d, iy, ix, wx, wy, 10)
    if ntap == 8:
        return _tap_sum_fixed(grid2d, iy, ix, wx, wy, 8)
    return _tap_sum_fixed(grid2d, iy, ix, wx, wy, ntap)


@njit(cache=True)
def _is_valid(x, ntap, n):
    """True when all ``ntap`` taps around ``x`` lie in ``[0, n)``; False for NaN/inf."""
    h = ntap // 2 - 1
    return x >= h and x < n - ntap + h + 1


@njit(cache=True)
def _interp_one(grid2d, xp, yp, even, odd, wx, wy):
    """Interpolate one point of a 2-D grid; ``wx``, ``wy`` (ntap,) are scratch. Invalid points give 0."""
    ny, nx = grid2d.shape
    ntap = wx.shape[0]
    if not (_is_valid(xp, ntap, nx) and _is_valid(yp, ntap, ny)):
        return 0.0
    h = ntap // 2 - 1
    x0 = int(np.floor(xp))
    y0 = int(np.floor(yp))
    _weights_1d(xp - x0, even, odd, wx)
    _weights_1d(yp - y0, even, odd, wy)
    return _tap_sum(grid2d, y0 - h, x0 - h, wx, wy)


@njit(cache=True, parallel=True)
def _interp_points(grid, x, y, even, odd, out):
    """Pattern 1: scattered points, several layers of one grid.

    Parameters
    ----------
    grid : ndarray, shape (nlayer, ny, nx), float64
        Sampled layers, indexed ``[layer, y, x]``.
    x, y : ndarray, shape (npts,), float64
        Positions [samples].
    even, odd : ndarray, shape (ntap // 2, ndeg), float64
        Coefficient tables of the kernel.
    out : ndarray, shape (nlayer, npts), float64
        Output; every entry is written (0 for invalid points).

    Notes
    -----
    Parallel over chunks of ``_CHUNK`` points; each chunk owns its columns of ``out`` and its weight
    buffers, so the kernel is race-free.  Each point's weights are shared by the layers; one grid
    is faster on the fused path, `points_one_grid`.
    """
    nlayer, ny, nx = grid.shape
    npts = x.shape[0]
    ntap = 2 * even.shape[0]
    h = ntap // 2 - 1
    nchunk = (npts + _CHUNK - 1) // _CHUNK
    for c in prange(nchunk):
        wx = np.empty(ntap)
        wy = np.empty(ntap)
        for p in range(c * _CHUNK, min((c + 1) * _CHUNK, npts)):
            xp = x[p]
            yp = y[p]
            if not (_is_valid(xp, ntap, nx) and _is_valid(yp, ntap, ny)):
                for ell in range(nlayer):
                    out[ell, p] = 0.0
                continue
            x0 = int(np.floor(xp))
            y0 = int(np.floor(yp))
            _weights_1d(xp - x0, even, odd, wx)
            _weights_1d(yp - y0, even, odd, wy)
            for ell in range(nlayer):
                out[ell, p] = _tap_sum(grid[ell], y0 - h, x0 - h, wx, wy)


@njit(cache=True)
def _symmetric_row(grid, dx, dy, even, odd, i, out, wx, wy):
    """Fill ``out[i, i:]`` and its mirror ``out[i:, i]`` from the lags ``dx[i, i:]``, ``dy[i, i:]``."""
    n = dx.shape[0]
    for j in range(i, n):
        value = _interp_one(grid, dx[i, j], dy[i, j], even, odd, wx, wy)
        out[i, j] = value
        out[j, i] = value


@njit(cache=True, parallel=True)
def _interp_symmetric(grid, dx, dy, even, odd, out):
    """Pattern 2: a symmetric square matrix of interpolated values.

    Parameters
    ----------
    grid : ndarray, shape (ny, nx), float64
        Sampled function, indexed ``[y, x]``.
    dx, dy : ndarray, shape (n, n), float64
        Positions [samples]; only the upper triangle including the diagonal (``j >= i``) is read.
    even, odd : ndarray, shape (ntap // 2, ndeg), float64
        Coefficient tables of the kernel.
    out : ndarray, shape (n, n), float64
        Output: ``out[i, j] = out[j, i] = F(dx[i, j], dy[i, j])`` for ``j >= i`` (0 where invalid).

    Notes
    -----
    Parallel over pairs of rows ``(r, n - 1 - r)``, which balances the triangle (every pair holds
    ``n + 1`` entries).  Row ``i`` writes ``out[i, j]`` and ``out[j, i]`` for ``j >= i`` only, so no two
    rows write the same entry: the kernel is race-free.
    """
    n = dx.shape[0]
    ntap = 2 * even.shape[0]
    npair = (n + 1) // 2
    for r in prange(npair):
        wx = np.empty(ntap)
        wy = np.empty(ntap)
        _symmetric_row(grid, dx, dy, even, odd, r, out, wx, wy)
        if n - 1 - r != r:
            _symmetric_row(grid, dx, dy, even, odd, n - 1 - r, out, wx, wy)


@njit(cache=True)
def _axis_weights(pos, n, even, odd, w, start):
    """Weights of a list of positions along one axis of length ``n``.

    Writes ``w[k, :]`` and ``start[k]`` (first sample index, ``floor(pos[k]) - h``; -1 where invalid).
    Returns the number of valid positions.
    """
    ntap = w.shape[1]
    h = ntap // 2 - 1
    nvalid = 0
    for k in range(pos.shape[0]):
        if _is_valid(pos[k], ntap, n):
            p0 = int(np.floor(pos[k]))
            _weights_1d(pos[k] - p0, even, odd, w[k])
            start[k] = p0 - h
            nvalid += 1
        else:
            start[k] = -1
    return nvalid


@njit(cache=True)
def _grid_row_direct(grid, wy_r, iy, wx, xstart, out_row):
    """One output row of the grid mode, full ``ntap x ntap`` sum per column."""
    for c in range(xstart.shape[0]):
        ix = xstart[c]
        out_row[c] = 0.0 if ix < 0 else _tap_sum(grid, iy, ix, wx[c], wy_r)


@njit(cache=True, inline="always")
def _contract_y(grid, wy_r, iy, lo, hi, tmp, ntap):
    """``tmp[ix] = sum_a wy_r[a] grid[iy + a, ix]`` for ``lo <= ix < hi``, summed in tap order.

    One pass over the columns with the tap loop inside: with ``ntap`` a compile-time constant the
    tap loop unrolls and the column loop vectorises (the sums are those of a pass per tap, bit for
    bit; a stamp's b vectors take 15 % less time).
    """
    for ix in range(lo, hi):
        total = 0.0
        for a in range(ntap):
            total += wy_r[a] * grid[np.uint64(iy + a), ix]
        tmp[ix] = total


@njit(cache=True)
def _grid_row_separable(grid, wy_r, iy, wx, xstart, xlo, xhi, tmp, out_row):
    """One output row of the grid mode: contract y once over columns ``[xlo, xhi)``, then x per column."""
    ntap = wy_r.shape[0]
    # unsigned indices: numba then skips its negative-index wraparound test on every access
    lo, hi = np.uint64(xlo), np.uint64(xhi)
    if ntap == 10:  # D5512 and G4460 with their tap counts as constants
        _contract_y(grid, wy_r, iy, lo, hi, tmp, 10)
    elif ntap == 8:
        _contract_y(grid, wy_r, iy, lo, hi, tmp, 8)
    else:
        _contract_y(grid, wy_r, iy, lo, hi, tmp, ntap)
    for c in range(xstart.shape[0]):
        ix = xstart[c]
        if ix < 0:
            out_row[c] = 0.0
            continue
        total = 0.0
        wc = wx[np.uint64(c)]
        for b in range(ntap):
            total += wc[b] * tmp[np.uint64(ix + b)]
        out_row[c] = total


@njit(cache=True, parallel=True)
def _interp_grid(grid, xs, ys, even, odd, out):
    """Pattern 3: for each of ``npi`` sets, interpolate on the rectilinear grid ``ys[i] x xs[i]``.

    Parameters
    ----------
    grid : ndarray, shape (ny, nx), float64
        Sampled function, indexed ``[y, x]``.
    xs : ndarray, shape (npi, nxo), float64
        Column positions of each set [samples].
    ys : ndarray, shape (npi, nyo), float64
        Row positions of each set [samples].
    even, odd : ndarray, shape (ntap // 2, ndeg), float64
        Coefficient tables of the kernel.
    out : ndarray, shape (npi, nyo * nxo), float64
        Output: ``out[i, r * nxo + c] = F(xs[i, c], ys[i, r])``; 0 where the column or the row is
        invalid.

    Notes
    -----
    The 1-D weights are computed once per column and per row.  Each row is summed either directly
    (``ntap**2`` products per output) or separably (first over the rows' taps for every sample column
    the valid columns touch, then over the columns' taps), whichever needs fewer products; results
    agree to rounding.  Parallel over sets ``i``; each set owns row ``i`` of ``out`` and its scratch
    arrays, so the kernel is race-free.
    """
    ny, nx = grid.shape
    npi, nxo = xs.shape
    nyo = ys.shape[1]
    ntap = 2 * even.shape[0]
    for i in prange(npi):
        wx = np.empty((nxo, ntap))
        wy = np.empty((nyo, ntap))
        xstart = np.empty(nxo, np.int64)
        ystart = np.empty(nyo, np.int64)
        tmp = np.empty(nx)
        nvalid = _axis_weights(xs[i], nx, even, odd, wx, xstart)
        _axis_weights(ys[i], ny, even, odd, wy, ystart)
        xlo = nx
        xhi = 0
        for c in range(nxo):
            if xstart[c] >= 0:
                xlo = min(xlo, xstart[c])
                xhi = max(xhi, xstart[c] + ntap)
        separable = nvalid > 0 and (xhi - xlo) < nvalid * (ntap - 1)
        for r in range(nyo):
            out_row = out[i, r * nxo : (r + 1) * nxo]
            if ystart[r] < 0 or nvalid == 0:
                out_row[:] = 0.0
            elif separable:
                _grid_row_separable(grid, wy[r], ystart[r], wx, xstart, xlo, xhi, tmp, out_row)
            else:
                _grid_row_direct(grid, wy[r], ystart[r], wx, xstart, out_row)
