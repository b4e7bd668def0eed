# Rollouts with the trained models: one long trajectory per evaluated molecule, and
# ensembles of replicas from a fixed start in each named state, by SD and, when
# dff.enabled, by the denoising force field's Brownian dynamics (frames as far apart).


rule sd_production:
    input:
        model=f"{RESULTS}/model/model.pt",
        h5=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{SD}/production.h5",
        pdb=f"{SD}/production.pdb",
        xtc=f"{SD}/production.xtc",
        json=f"{SD}/production.json",
    log:
        f"{LOGS}/sd/{{molecule}}/production.log",
    benchmark:
        f"{BENCH}/sd/{{molecule}}/production.tsv"
    retries: REQUESTS.of("sd_production").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=REQUESTS.of("sd_production").mem_mb,
        runtime=REQUESTS.of("sd_production").runtime,
        gpu=1,
    params:
        workdir=f"{SD}/production_run",
        settings=config["rollout"],
        method="sd",
        solver=CFG.rollout.solver.label(),
        time_ns=CFG.rollout.production.time_ns,
    script:
        "../scripts/rollout_production.py"


rule sd_size:
    input:
        model=f"{RESULTS}/sizes/{{size}}/model.pt",
        h5=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{RESULTS}/sizes/{{size}}/sd/{{molecule}}/production.h5",
        pdb=f"{RESULTS}/sizes/{{size}}/sd/{{molecule}}/production.pdb",
        xtc=f"{RESULTS}/sizes/{{size}}/sd/{{molecule}}/production.xtc",
        json=f"{RESULTS}/sizes/{{size}}/sd/{{molecule}}/production.json",
    log:
        f"{LOGS}/sizes/{{size}}/sd/{{molecule}}.log",
    benchmark:
        f"{BENCH}/sizes/{{size}}/sd/{{molecule}}.tsv"
    retries: REQUESTS.of("sd_size").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=REQUESTS.of("sd_size").mem_mb,
        runtime=REQUESTS.of("sd_size").runtime,
        gpu=1,
    params:
        workdir=f"{RESULTS}/sizes/{{size}}/sd/{{molecule}}/run",
        settings=config["rollout"],
        method="sd",
        solver=CFG.rollout.solver.label(),
        time_ns=CFG.rollout.production.time_ns,
    script:
        "../scripts/rollout_production.py"


rule sd_conditional:
    input:
        model=f"{RESULTS}/model/model.pt",
        start=f"{MD}/state_{{state}}.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{SD}/conditional_{{state}}.h5",
        json=f"{SD}/conditional_{{state}}.json",
    log:
        f"{LOGS}/sd/{{molecule}}/conditional_{{state}}.log",
    benchmark:
        f"{BENCH}/sd/{{molecule}}/conditional_{{state}}.tsv"
    retries: REQUESTS.of("sd_conditional").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: workflow.cores
    resources:
        mem_mb=REQUESTS.of("sd_conditional").mem_mb,
        runtime=REQUESTS.of("sd_conditional").runtime,
        gpu=1,
    params:
        workdir=f"{SD}/conditional_{{state}}_run",
        settings=config["rollout"],
        method="sd",
    script:
        "../scripts/rollout_conditional.py"


rule sd_sweep:
    input:
        model=f"{RESULTS}/model/model.pt",
        h5=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{SD}/sweep/{{solver}}/production.h5",
        pdb=f"{SD}/sweep/{{solver}}/production.pdb",
        xtc=f"{SD}/sweep/{{solver}}/production.xtc",
        json=f"{SD}/sweep/{{solver}}/production.json",
    log:
        f"{LOGS}/sd/{{molecule}}/sweep/{{solver}}.log",
    benchmark:
        f"{BENCH}/sd/{{molecule}}/sweep/{{solver}}.tsv"
    retries: sweep_retries()
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sweep_request("mem_mb"),
        runtime=sweep_request("runtime"),
        gpu=1,
    params:
        workdir=f"{SD}/sweep/{{solver}}/run",
        # the point's own solver and time: another point in the sweep does not rerun this one
        settings=config["rollout"],
        method="sd",
        solver=lambda wildcards: wildcards.solver,
        time_ns=CFG.sweep_time_ns(),
    script:
        "../scripts/rollout_production.py"


rule dff_production:
    input:
        model=f"{RESULTS}/dff/model.pt",
        h5=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{DFF}/production.h5",
        pdb=f"{DFF}/production.pdb",
        xtc=f"{DFF}/production.xtc",
        json=f"{DFF}/production.json",
    log:
        f"{LOGS}/dff/{{molecule}}/production.log",
    benchmark:
        f"{BENCH}/dff/{{molecule}}/production.tsv"
    retries: REQUESTS.of("dff_production").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=REQUESTS.of("dff_production").mem_mb,
        runtime=REQUESTS.of("dff_production").runtime,
        gpu=1,
    params:
        workdir=f"{DFF}/production_run",
        settings={"rollout": config["rollout"], "dff": dff_dynamics_settings()},
        method="dff",
        solver=None,
        time_ns=CFG.rollout.production.time_ns,
    script:
        "../scripts/rollout_production.py"


rule dff_conditional:
    input:
        model=f"{RESULTS}/dff/model.pt",
        start=f"{MD}/state_{{state}}.h5",
        top=f"{MD}/topology/topol.top",
    output:
        h5=f"{DFF}/conditional_{{state}}.h5",
        json=f"{DFF}/conditional_{{state}}.json",
    log:
        f"{LOGS}/dff/{{molecule}}/conditional_{{state}}.log",
    benchmark:
        f"{BENCH}/dff/{{molecule}}/conditional_{{state}}.tsv"
    retries: REQUESTS.of("dff_conditional").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: workflow.cores
    resources:
        mem_mb=REQUESTS.of("dff_conditional").mem_mb,
        runtime=REQUESTS.of("dff_conditional").runtime,
        gpu=1,
    params:
        workdir=f"{DFF}/conditional_{{state}}_run",
        settings={"rollout": config["rollout"], "dff": dff_dynamics_settings()},
        method="dff",
    script:
        "../scripts/rollout_conditional.py"
