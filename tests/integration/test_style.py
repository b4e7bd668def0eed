"""ruff and snakefmt are part of the contract: the code stays clean."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "cmd",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile", "workflow/rules"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_style(cmd):
    exe = BIN / cmd[0]
    if not exe.is_file():
        pytest.skip(f"{cmd[0]} is not installed in this environment (it comes with the test extras)")
    res = subprocess.run([str(exe), *cmd[1:]], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
