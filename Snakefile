# scoredyn: score dynamics learned from GROMACS MD. This file is the table of contents;
# the rules live in workflow/rules/ and all logic in the scoredyn package (src/).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/md.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rollout.smk"
include: "workflow/rules/evaluate.smk"


# Bookkeeping and plots run on the submit host under a cluster executor.
localrules:
    all,
    md_starts_manifest,
    md_conditional,
    evaluate_equilibrium,
    evaluate_conditional,
    evaluate_speed,
    evaluate_sweep,
    evaluate_sizes,
    metrics,


rule all:
    default_target: True
    input:
        all_targets(),
