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


def run_rule(sm: object, fn: Callable[..., T], *args: object, with_config: bool = True, **kwargs: object) -> T:
    """The body of a Snakemake script: log to ``log[0]``, then call ``fn`` reporting errors.

    With ``with_config`` the validated :class:`~scoredyn.config.Config` is the first
    argument. A stage that writes its tools' output to the log itself (GROMACS) takes the log
    file as a ``log_file`` parameter and gets it; the others log through :mod:`logging`.
    """
    import inspect

    from scoredyn.config import load_config

    log_file = Path(sm.log[0])  # type: ignore[attr-defined]
    setup_logging(log_file)
    if with_config:
        cfg = load_config(sm.config, check_molecules=False)  # type: ignore[attr-defined]
        if "log_file" in inspect.signature(fn).parameters:
            kwargs["log_file"] = log_file
        return run_reporting_errors(fn, cfg, *args, **kwargs)
    return run_reporting_errors(fn, *args, **kwargs)
