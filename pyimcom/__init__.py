"""PyIMCOM: optimal linear image combination for the Roman Space Telescope.

The package re-implements the reference PyIMCOM (Rowe, Hirata & Rhodes 2011; Cao et al. 2025) as a
library under a Snakemake workflow.  The user-facing names of the reference are kept
(``pyimcom.config.Config``, ``pyimcom.coadd.Block``, ...); everything else is organised in layers
(see ``DESIGN.md`` of the project): kernels, data model and I/O, layers, engine, workflow support and
entry points, with imports pointing downward only.
"""

import os as _os

__version__ = "0.1.0"

# OpenBLAS worker threads spin for 2^28 cycles (~0.1 s) after each BLAS call before they sleep, and
# while they spin, the numba kernels that follow run at about half speed on a job's cores (measured:
# the mixed-precision refinement's product with A, 0.04 -> 0.08-0.13 s).  2^20 cycles (~0.4 ms) keeps
# them awake within LAPACK's own call sequences (DPOTRF/DTRSM times unchanged).  It takes effect when
# pyimcom is imported before numpy and scipy, as the command-line tools and workflow jobs do; a value
# set in the environment wins.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")
