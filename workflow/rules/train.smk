# Training data and the models: pairs from the MD, then denoising score matching (SD) and,
# when dff.enabled, the denoising force field on the same frames.


rule dataset:
    input:
        unpack(dataset_inputs),
    output:
        h5=f"{RESULTS}/dataset/dataset.h5",
        json=f"{RESULTS}/dataset/summary.json",
    log:
        f"{LOGS}/dataset.log",
    benchmark:
        f"{BENCH}/dataset.tsv"
    # the training is the longest step and waits for this one: both go before the MD
    # ensembles, which have until the end of the training to run beside it
    priority: 10
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=0,
    params:
        molecules=CFG.train,
        settings=config["dataset"],
    script:
        "../scripts/dataset.py"


rule train:
    input:
        h5=f"{RESULTS}/dataset/dataset.h5",
    output:
        model=f"{RESULTS}/model/model.pt",
        metrics=f"{RESULTS}/model/metrics.csv",
        figure=report(
            f"{RESULTS}/model/loss.png",
            caption="../report/loss.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCH}/train.tsv"
    priority: 10
    retries: REQUESTS.of("train").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: min(CFG.training.threads, workflow.cores)
    resources:
        mem_mb=REQUESTS.of("train").mem_mb,
        runtime=REQUESTS.of("train").runtime,
        gpu=1,
    params:
        workdir=f"{RESULTS}/model/work",
        settings={"train": config["train"], "diffusion": config["diffusion"]},
        method="sd",
    script:
        "../scripts/train.py"


rule train_size:
    input:
        h5=f"{RESULTS}/dataset/dataset.h5",
    output:
        model=f"{RESULTS}/sizes/{{size}}/model.pt",
        metrics=f"{RESULTS}/sizes/{{size}}/metrics.csv",
        figure=f"{RESULTS}/sizes/{{size}}/loss.png",
    log:
        f"{LOGS}/sizes/{{size}}/train.log",
    benchmark:
        f"{BENCH}/sizes/{{size}}/train.tsv"
    retries: REQUESTS.of("train_size").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: min(CFG.training.threads, workflow.cores)
    resources:
        mem_mb=REQUESTS.of("train_size").mem_mb,
        runtime=REQUESTS.of("train_size").runtime,
        gpu=1,
    params:
        workdir=f"{RESULTS}/sizes/{{size}}/work",
        settings={"train": config["train"], "diffusion": config["diffusion"]},
        method="sd",
        size=lambda wildcards: float(wildcards.size),
    script:
        "../scripts/train.py"


rule train_dff:
    input:
        h5=f"{RESULTS}/dataset/dataset.h5",
    output:
        model=f"{RESULTS}/dff/model.pt",
        metrics=f"{RESULTS}/dff/metrics.csv",
        figure=report(
            f"{RESULTS}/dff/loss.png",
            caption="../report/loss_dff.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/train_dff.log",
    benchmark:
        f"{BENCH}/train_dff.tsv"
    retries: REQUESTS.of("train_dff").retries(RETRIES)
    conda:
        "../../envs/torch.yaml"
    threads: min(CFG.training.threads, workflow.cores)
    resources:
        mem_mb=REQUESTS.of("train_dff").mem_mb,
        runtime=REQUESTS.of("train_dff").runtime,
        gpu=1,
    params:
        workdir=f"{RESULTS}/dff/work",
        settings={"train": config["train"], "dff": dff_train_settings()},
        method="dff",
    script:
        "../scripts/train.py"
