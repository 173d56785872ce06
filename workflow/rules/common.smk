# Configuration validation, wildcard constraints and input functions shared by every stage.
# Real logic lives in pyimcom.workflow (importable and unit tested).
import os
import re

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

# one numba cache for every job of the workflow
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.abspath(".numba_cache"))


def get_link_source(wildcards):
    return LINKS[wildcards.linked]


def get_plan_inputs():
    """Observation table and science images whose WCS headers the planner reads."""
    return [CFG.obsfile] + CTX.science_inputs()


def get_block_inputs(wildcards):
    """The science and PSF files of one block (from its plan entry)."""
    from pyimcom.plan import read_plan

    plan = read_plan(checkpoints.plan.get().output[0])
    return CTX.block_inputs(plan, int(wildcards.ibx), int(wildcards.iby))


def get_layer_inputs(wildcards):
    """Science image, drawing PSF, lab-noise and mask files of one (obsid, sca)."""
    return CTX.layer_inputs(int(wildcards.obsid), int(wildcards.sca))


def get_layer_group(wildcards):
    """One group per strip of block rows (one cluster job per strip)."""
    from pyimcom.plan import read_plan

    plan = read_plan(checkpoints.plan.get().output[0])
    return f"strip{CTX.strip_of(plan, int(wildcards.obsid), int(wildcards.sca))}"


def get_final_output():
    # until the truth catalogue and report stages exist, the final products are the blocks
    return CTX.block_files()
