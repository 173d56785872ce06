# Configuration validation, wildcard constraints and input functions shared by every stage.
# Real logic lives in pyimcom.workflow (importable and unit tested).
import os
import re

from pyimcom import resources
from pyimcom.workflow import WorkflowContext

CTX = WorkflowContext.from_config(config)  # validates config (schema) and loads the PyIMCOM JSON
CFG = CTX.cfg
LINKS = CTX.link_map()  # destination in the JSON's layout -> source file
PLAN = CTX.plan_path()


def _alternation(paths):
    return "|".join(re.escape(p) for p in sorted(paths)) or "(?!)"


wildcard_constraints:
    linked=_alternation(LINKS),
    ibx=r"\d\d+",
    iby=r"\d\d+",
    obsid=r"\d\d\d\d\d\d\d\d+",
    sca=r"\d\d",

# One numba cache for every job of the workflow (in the working directory, shared by cluster jobs).
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.abspath(".numba_cache"))

# Prefix of every shell command that runs numba or BLAS code: both use exactly the job's threads
# (Snakemake sets the BLAS/OpenMP variables for shell jobs, but not NUMBA_NUM_THREADS). The job
# inherits NUMBA_CACHE_DIR from this process (and, on SLURM, through sbatch --export=ALL).
THREADS_ENV = (
    "NUMBA_NUM_THREADS={threads} OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} "
    "MKL_NUM_THREADS={threads}"
)

# Group-components key shared by every strip group: `group-components: {layer_strips: N}` in a
# profile merges up to N layer jobs of one strip into one cluster job (profiles/default sets it).
LAYER_STRIP_GROUPS = "layer_strips"


def get_link_source(wildcards):
    return LINKS[wildcards.linked]


def get_plan_inputs():
    """Observation table, and the science images whose WCS headers the planner reads (mode wcs)."""
    if config["plan_mode"] == "pointing":
        return [CFG.obsfile]
    return [CFG.obsfile] + CTX.science_inputs()


_PLAN_CACHE = {}


def _plan():
    """The plan written by the checkpoint, read once per version of the file (large mosaics call this
    once per job while the DAG is built)."""
    from pyimcom.plan import read_plan

    path = checkpoints.plan.get().output[0]
    key = (path, os.stat(path).st_mtime_ns)
    if key not in _PLAN_CACHE:
        _PLAN_CACHE.clear()
        _PLAN_CACHE[key] = read_plan(path)
    return _PLAN_CACHE[key]


def get_block_inputs(wildcards):
    """The science and PSF files of one block (from its plan entry)."""
    return CTX.block_inputs(_plan(), int(wildcards.ibx), int(wildcards.iby))


def get_layer_inputs(wildcards):
    """Science image, drawing PSF, lab-noise and mask files of one (obsid, sca)."""
    return CTX.layer_inputs(int(wildcards.obsid), int(wildcards.sca))


def get_layer_group(wildcards):
    """One group per strip of block rows (one cluster job per strip)."""
    name = f"strip{CTX.strip_of(_plan(), int(wildcards.obsid), int(wildcards.sca)):03d}"
    # Snakemake looks group-components up under the group's template name; a callable group has
    # none, so register every strip under one shared key.
    workflow.parent_groupids[name] = LAYER_STRIP_GROUPS
    return name


def get_final_output():
    """The report PDF (it needs every block and the truth catalogue)."""
    return [f"{config['report_stem']}_main.pdf"]
