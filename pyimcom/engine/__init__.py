"""The coaddition engine: input pixels, PSFs, system matrices, solves and block products.

Modules take explicit settings objects and arrays, never the whole `pyimcom.config.Config`.
"""
