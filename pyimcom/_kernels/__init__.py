"""Numba kernels of PyIMCOM: ``@njit`` functions on float64/int arrays, writing into preallocated outputs."""
