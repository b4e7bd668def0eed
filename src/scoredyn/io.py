"""Atomic file writing and resumable working directories: a crash never leaves a half-written
output behind, and a changed input never resumes stale work."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def claim_workdir(workdir: Path, inputs: dict[str, object]) -> Path:
    """Reuse ``workdir`` (finished phases, checkpoints) only if it was made from the same inputs.

    ``inputs`` is everything that determines the runs (config values, seeds, file
    digests). When it differs from what the directory was made with, the directory is
    emptied, so a changed config never resumes a stale run.
    """
    stamp = workdir / "inputs.json"
    text = json.dumps(inputs, sort_keys=True, default=str, indent=1)
    if workdir.exists() and (not stamp.is_file() or stamp.read_text() != text):
        log.info("%s was made from other inputs; starting it afresh", workdir)
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(text)
    return workdir


def write_csv(df: object, path: Path | str) -> Path:
    """Write a pandas DataFrame as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)  # type: ignore[attr-defined]
    return Path(path)
