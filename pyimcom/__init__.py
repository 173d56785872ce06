"""PyIMCOM: optimal linear image combination for the Roman Space Telescope.

The package re-implements the reference PyIMCOM (Rowe, Hirata & Rhodes 2011; Cao et al. 2025) as a
library under a Snakemake workflow.  The user-facing names of the reference are kept
(``pyimcom.config.Config``, ``pyimcom.coadd.Block``, ...); everything else is organised in layers
(see ``DESIGN.md`` of the project): kernels, data model and I/O, layers, engine, workflow support and
entry points, with imports pointing downward only.
"""

__version__ = "0.1.0"
