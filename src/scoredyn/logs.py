"""Logging set-up shared by the workflow scripts and the command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scoredyn.errors import ScoredynError

T = TypeVar("T")


def setup_logging(log_file: Path | str | None = None, level: int = logging.INFO) -> None:
    """Send scoredyn's log records to ``log_file`` (and stderr when none is given)."""
    handler: logging.Handler = logging.FileHandler(log_file, mode="a") if log_file else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def run_reporting_errors(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Call ``fn``; a :class:`ScoredynError` exits with its one-line message instead of a traceback."""
    try:
        return fn(*args, **kwargs)
    except ScoredynError as exc:
        logging.getLogger("scoredyn").error("%s", exc)
        sys.exit(f"scoredyn error: {exc}")
