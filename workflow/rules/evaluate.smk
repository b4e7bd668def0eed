# SD (and the DFF baseline when enabled) against MD: figures per molecule (equilibrium, kinetics, conditional distributions),
# speed and stability for the run, and the metrics gathered into metrics.json / .csv.


rule evaluate_equilibrium:
    input:
        unpack(learned_files("production.h5")),
        md=f"{MD}/production.h5",
        top=f"{MD}/topology/topol.top",
    output:
        dihedrals=report(
            f"{EVAL}/dihedrals.png",
            caption="../report/dihedrals.rst",
            category="{molecule}",
            subcategory="1 Equilibrium",
        ),
        dihedral_profiles=report(
            f"{EVAL}/dihedral_profiles.png",
            caption="../report/dihedral_profiles.rst",
            category="{molecule}",
            subcategory="1 Equilibrium",
        ),
        bonds=report(
            f"{EVAL}/bond_lengths.png",
            caption="../report/geometry.rst",
            category="{molecule}",
            subcategory="1 Equilibrium",
        ),
        angles=report(
            f"{EVAL}/bond_angles.png",
            caption="../report/geometry.rst",
            category="{molecule}",
            subcategory="1 Equilibrium",
        ),
        fpt=report(
            f"{EVAL}/first_passage.png",
            caption="../report/first_passage.rst",
            category="{molecule}",
            subcategory="2 Kinetics",
        ),
        csv=f"{EVAL}/equilibrium.csv",
    log:
        f"{LOGS}/evaluation/{{molecule}}/equilibrium.log",
    benchmark:
        f"{BENCH}/evaluation/{{molecule}}/equilibrium.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
        gpu=0,
    params:
        settings=evaluation_settings(),
    script:
        "../scripts/evaluate_equilibrium.py"


rule evaluate_conditional:
    input:
        unpack(learned_files("conditional_{state}.h5")),
        md=f"{MD}/conditional_{{state}}.h5",
        top=f"{MD}/topology/topol.top",
    output:
        figure=report(
            f"{EVAL}/conditional_{{state}}.png",
            caption="../report/conditional.rst",
            category="{molecule}",
            subcategory="3 Conditional distributions",
        ),
        csv=f"{EVAL}/conditional_{{state}}.csv",
    log:
        f"{LOGS}/evaluation/{{molecule}}/conditional_{{state}}.log",
    benchmark:
        f"{BENCH}/evaluation/{{molecule}}/conditional_{{state}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
        gpu=0,
    params:
        settings=evaluation_settings(),
    script:
        "../scripts/evaluate_conditional.py"


rule evaluate_speed:
    input:
        unpack(speed_inputs),
    output:
        figure=report(
            f"{RESULTS}/evaluation/speed.png",
            caption="../report/speed.rst",
            category="Speed and stability",
        ),
        csv=f"{RESULTS}/evaluation/speed.csv",
    log:
        f"{LOGS}/evaluation/speed.log",
    benchmark:
        f"{BENCH}/evaluation/speed.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=0,
    params:
        molecules=CFG.evaluate,
        ensembles=speed_ensembles(),
        threads={
            "md_production": CFG.gromacs.threads,
            "md_conditional_run": 1,
            "sd_production": 1,
            "sd_conditional": workflow.cores,
            "dff_production": 1,
            "dff_conditional": workflow.cores,
        },
    script:
        "../scripts/evaluate_speed.py"


rule metrics:
    input:
        evaluation_csvs,
    output:
        json=f"{RESULTS}/evaluation/metrics.json",
        csv=report(
            f"{RESULTS}/evaluation/metrics.csv",
            caption="../report/metrics.rst",
            category="Metrics",
        ),
    log:
        f"{LOGS}/evaluation/metrics.log",
    benchmark:
        f"{BENCH}/evaluation/metrics.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    script:
        "../scripts/metrics.py"


rule evaluate_sweep:
    input:
        md=f"{MD}/production.h5",
        h5=sweep_files("h5"),
        json=sweep_files("json"),
        top=f"{MD}/topology/topol.top",
    output:
        figure=report(
            f"{EVAL}/sweep_solver.png",
            caption="../report/sweep.rst",
            category="{molecule}",
            subcategory="4 Solver sweep",
        ),
        csv=f"{EVAL}/sweep_solver.csv",
    log:
        f"{LOGS}/evaluation/{{molecule}}/sweep_solver.log",
    benchmark:
        f"{BENCH}/evaluation/{{molecule}}/sweep_solver.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
        gpu=0,
    params:
        solvers=sweep_points(),
        settings=evaluation_settings(),
    script:
        "../scripts/evaluate_sweep.py"


rule evaluate_sizes:
    input:
        md=f"{MD}/production.h5",
        h5=size_files("h5"),
        dataset=f"{RESULTS}/dataset/dataset.h5",
        top=f"{MD}/topology/topol.top",
    output:
        figure=report(
            f"{EVAL}/training_size.png",
            caption="../report/training_size.rst",
            category="{molecule}",
            subcategory="5 Training-set size",
        ),
        csv=f"{EVAL}/training_size.csv",
    log:
        f"{LOGS}/evaluation/{{molecule}}/training_size.log",
    benchmark:
        f"{BENCH}/evaluation/{{molecule}}/training_size.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
        gpu=0,
    params:
        sizes=size_labels(),
        settings=evaluation_settings(),
    script:
        "../scripts/evaluate_sizes.py"
