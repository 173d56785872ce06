# PyIMCOM pipeline: symlinked inputs -> plan -> (layers -> blocks -> truth catalogue -> report).
# Run from the repository root:  snakemake --cores all   (see README.md)
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/layers.smk"
include: "workflow/rules/coadd.smk"
include: "workflow/rules/truth.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
