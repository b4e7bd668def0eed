# Training data and the score model: pairs from the MD, then denoising score matching.


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
    conda:
        "../../envs/torch.yaml"
    threads: workflow.cores
    resources:
        mem_mb=16000,
        runtime=train_runtime_min(),
        gpu=1,
    params:
        workdir=f"{RESULTS}/model/work",
        settings={"train": config["train"], "diffusion": config["diffusion"]},
    script:
        "../scripts/train.py"
