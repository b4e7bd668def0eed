"""The package's layers: lower packages never import upper ones."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "scoredyn"

#: package -> the scoredyn packages it must not import (directly, at any depth of the module)
FORBIDDEN = {
    "graph.py": ("scoredyn.",),
    "diffusion": ("scoredyn.model", "scoredyn.rollout", "scoredyn.training", "scoredyn.data"),
    "model": ("scoredyn.rollout", "scoredyn.training", "scoredyn.evaluation"),
    "data": ("scoredyn.diffusion", "scoredyn.rollout", "scoredyn.training"),
}


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(part):
    target = SRC / part
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert files
    bad = [f"{f.relative_to(SRC)} imports {name}" for f in files for name in imported(f)
           if name.startswith(FORBIDDEN[part])]  # fmt: skip
    assert not bad, bad
