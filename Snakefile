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


rule all:
    default_target: True
    input:
        all_targets(),
