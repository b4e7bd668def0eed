# GROMACS data: topology, box, vacuum sampling, diverse starts and the long production.


rule md_topology:
    input:
        molecule_files,
    output:
        top=f"{MD}/topology/topol.top",
        gro=f"{MD}/topology/solute.gro",
    log:
        f"{LOGS}/md/{{molecule}}/topology.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/topology.tsv"
    priority: TRAINING_PATH
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
        gpu=0,
    script:
        "../scripts/md_topology.py"


rule md_box:
    input:
        top=f"{MD}/topology/topol.top",
    output:
        box=f"{MD}/box.json",
    log:
        f"{LOGS}/md/{{molecule}}/box.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/box.tsv"
    priority: TRAINING_PATH
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
        gpu=0,
    script:
        "../scripts/md_box.py"


rule md_vacuum_hot:
    input:
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{MD}/vacuum_hot.h5",
    log:
        f"{LOGS}/md/{{molecule}}/vacuum_hot.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/vacuum_hot.tsv"
    priority: TRAINING_PATH
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
        gpu=0,
    params:
        mdp_dir=MDP_DIR,
        workdir=f"{MD}/vacuum_hot_run",
    script:
        "../scripts/md_vacuum_hot.py"


rule md_start:
    input:
        unpack(start_inputs),
    output:
        h5=f"{MD}/starts/start_{{index}}.h5",
    log:
        f"{LOGS}/md/{{molecule}}/starts/start_{{index}}.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/starts/start_{{index}}.tsv"
    priority: TRAINING_PATH
    retries: start_retries()
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=start_request("mem_mb"),
        runtime=start_request("runtime"),
        gpu=0,
    params:
        mdp_dir=MDP_DIR,
        workdir=f"{MD}/starts/run_{{index}}",
    script:
        "../scripts/md_start.py"


rule md_starts_manifest:
    input:
        start_files,
    output:
        csv=f"{MD}/starts/manifest.csv",
    log:
        f"{LOGS}/md/{{molecule}}/starts/manifest.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/starts/manifest.tsv"
    priority: TRAINING_PATH
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=0,
    script:
        "../scripts/md_starts_manifest.py"


rule md_production:
    input:
        top=f"{MD}/topology/topol.top",
        box=f"{MD}/box.json",
    output:
        h5=f"{MD}/production.h5",
        pdb=f"{MD}/production.pdb",
        xtc=f"{MD}/production.xtc",
        json=f"{MD}/production.json",
    log:
        f"{LOGS}/md/{{molecule}}/production.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/production.tsv"
    priority: production_priority
    retries: REQUESTS.of("md_production").retries(RETRIES)
    conda:
        "../../envs/gromacs.yaml"
    threads: CFG.gromacs.threads
    resources:
        mem_mb=production_request("mem_mb"),
        runtime=production_request("runtime"),
        gpu=0,
    params:
        mdp_dir=MDP_DIR,
        workdir=f"{MD}/production_run",
    script:
        "../scripts/md_production.py"


rule md_state_start:
    input:
        h5=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{MD}/state_{{state}}.h5",
        gro=f"{MD}/state_{{state}}.gro",
    log:
        f"{LOGS}/md/{{molecule}}/state_{{state}}.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/state_{{state}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=0,
    script:
        "../scripts/md_state_start.py"


rule md_conditional_prepare:
    input:
        top=f"{MD}/topology/topol.top",
        box=f"{MD}/box.json",
        start=f"{MD}/state_{{state}}.gro",
    output:
        gro=f"{MD}/conditional_{{state}}/eq.gro",
        top=f"{MD}/conditional_{{state}}/topol.top",
    log:
        f"{LOGS}/md/{{molecule}}/conditional_{{state}}/prepare.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/conditional_{{state}}/prepare.tsv"
    retries: REQUESTS.of("md_conditional_prepare").retries(RETRIES)
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=REQUESTS.of("md_conditional_prepare").mem_mb,
        runtime=REQUESTS.of("md_conditional_prepare").runtime,
        gpu=0,
    params:
        mdp_dir=MDP_DIR,
        workdir=f"{MD}/conditional_{{state}}/prepare_run",
    script:
        "../scripts/md_conditional_prepare.py"


rule md_conditional_run:
    input:
        top=f"{MD}/topology/topol.top",
        gro=f"{MD}/conditional_{{state}}/eq.gro",
    output:
        h5=f"{MD}/conditional_{{state}}/run_{{index}}.h5",
    log:
        f"{LOGS}/md/{{molecule}}/conditional_{{state}}/run_{{index}}.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/conditional_{{state}}/run_{{index}}.tsv"
    retries: REQUESTS.of("md_conditional_run").retries(RETRIES)
    conda:
        "../../envs/gromacs.yaml"
    threads: 1
    resources:
        mem_mb=REQUESTS.of("md_conditional_run").mem_mb,
        runtime=REQUESTS.of("md_conditional_run").runtime,
        gpu=0,
    params:
        mdp_dir=MDP_DIR,
        workdir=f"{MD}/conditional_{{state}}/work_{{index}}",
    script:
        "../scripts/md_conditional_run.py"


rule md_conditional:
    input:
        conditional_run_files,
    output:
        h5=f"{MD}/conditional_{{state}}.h5",
    log:
        f"{LOGS}/md/{{molecule}}/conditional_{{state}}/gather.log",
    benchmark:
        f"{BENCH}/md/{{molecule}}/conditional_{{state}}/gather.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=0,
    script:
        "../scripts/md_conditional.py"
