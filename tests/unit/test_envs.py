"""The conda envs: each parses, pins its packages, and carries what its rules import."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
#: import name -> conda-forge package, for the package's direct dependencies
CONDA_NAME = {
    "numpy": "numpy", "scipy": "scipy", "yaml": "pyyaml", "jsonschema": "jsonschema", "h5py": "h5py",
    "pandas": "pandas", "matplotlib": "matplotlib-base", "PIL": "pillow", "MDAnalysis": "mdanalysis",
    "gromacs": "gromacswrapper", "tqdm": "tqdm", "torch": "pytorch", "torch_geometric": "pytorch_geometric",
}  # fmt: skip
#: rules that run GROMACS itself
GMX_RULES = {"md_topology", "md_box", "md_vacuum_hot", "md_start", "md_production", "md_conditional_prepare",
             "md_conditional_run"}  # fmt: skip


def rules() -> list[tuple[str, str, str]]:
    """(rule, conda env file, script) of every rule with a script."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule )", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            env = re.search(r'conda:\s*\n\s*"\.\./\.\./envs/([\w.]+)"', block)
            script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block)
            if name and script:
                out.append((name.group(1), env.group(1) if env else "", script.group(1)))
    return out


def module_file(module: str) -> Path:
    path = SRC / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules imported (at any depth, lazily or not) by a script and every
    scoredyn module it reaches."""
    todo, seen, found = [script], set(), set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                root = name.split(".")[0]
                if root == "scoredyn":
                    todo.append(module_file(name))
                elif root not in sys.stdlib_module_names:
                    found.add(root)
    return found


def env_packages(env: str) -> dict[str, str]:
    spec = yaml.safe_load((REPO / "envs" / env).read_text())
    deps = [d for d in spec["dependencies"] if isinstance(d, str)]
    return dict([*re.split(r"[=<>]", d, maxsplit=1), ""][:2] for d in deps)


@pytest.mark.parametrize("env", sorted(p.name for p in (REPO / "envs").glob("*.yaml")))
def test_env_parses_pins_every_package_and_installs_the_workflow_package(env):
    spec = yaml.safe_load((REPO / "envs" / env).read_text())
    assert spec["channels"][0] == "conda-forge"
    for name, version in env_packages(env).items():
        assert name == "pip" or re.fullmatch(r"[\d.]+\*?", version or ""), f"{env}: {name} is not pinned"
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    assert any(p.startswith("-e ..") for p in pip), f"{env} does not install the package"
    assert ("pytorch" in env_packages(env)) == (env == "torch.yaml")  # torch only where it is needed


@pytest.mark.parametrize("rule,env,script", rules(), ids=lambda x: x if isinstance(x, str) else "")
def test_each_rule_env_carries_what_the_rule_imports(rule, env, script):
    assert env, f"rule {rule} has no conda env"
    wanted = {CONDA_NAME[m] for m in third_party_imports(REPO / "workflow" / "scripts" / script) if m in CONDA_NAME}
    missing = wanted - set(env_packages(env))
    assert not missing, f"rule {rule} imports {sorted(missing)} that envs/{env} lacks"
    if rule in GMX_RULES:
        assert "gromacs" in env_packages(env), f"rule {rule} runs GROMACS but envs/{env} has none"


def test_the_scan_sees_lazy_imports():
    found = third_party_imports(REPO / "workflow" / "scripts" / "md_production.py")
    assert {"gromacs", "MDAnalysis", "numpy"} <= found and "torch" not in found
