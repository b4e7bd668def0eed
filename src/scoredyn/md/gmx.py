"""GROMACS tools through GromacsWrapper, with captured logs and one clear error.

Every tool call appends its command line and output to a log file. A failing tool
raises :class:`~scoredyn.errors.GromacsError` carrying the tail of what GROMACS
printed (and of ``md.log`` for mdrun), so a failed Snakemake rule shows the cause.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from scoredyn.errors import GromacsError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install GROMACS (Debian/Ubuntu: `apt-get install gromacs`; conda: `conda install -c conda-forge gromacs`; "
    "clusters: `module load gromacs`) or set gromacs.command in the config to the driver you have"
)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@cache
def _gromacs_module():
    os.environ.setdefault("GROMACSWRAPPER_SUPPRESS_SETUP_CHECK", "1")
    import gromacs
    import gromacs.tools

    return gromacs


def find_gmx(command: str) -> str:
    """Absolute path of the GROMACS driver, or a :class:`GromacsError` that says how to get one."""
    path = shutil.which(command)
    if path is None:
        raise GromacsError(f"GROMACS driver {command!r} not found on PATH; {INSTALL_HINT}")
    return path


class Gromacs:
    """The tools of one GROMACS driver (``gmx``, ``gmx_mpi``, ...).

    Parameters
    ----------
    command : as in ``gromacs.command`` of the config: the driver, optionally after a
        launcher that starts mdrun (``"mpirun -np 4 gmx_mpi"``, ``"srun gmx_mpi"``). The
        preparation tools (grompp, solvate, ...) always run serially, without the launcher.
    log_file : where every tool's command line and output is appended
    reproducible : run mdrun with ``-reprod``: its FFT plans are then chosen without timing
        them (FFTW_ESTIMATE), so a seeded run repeats bit for bit on one machine and build
        (``gromacs.reproducible``)
    """

    def __init__(self, command: str = "gmx", log_file: Path | str | None = None, reproducible: bool = True) -> None:
        self.command = command
        self.reproducible = reproducible
        try:
            *self.launcher, self.driver = shlex.split(command)
        except ValueError as exc:
            msg = f"gromacs.command {command!r} cannot be split into words ({exc}); fix its quoting"
            raise GromacsError(msg) from None
        self.path = find_gmx(self.driver)
        if self.launcher and shutil.which(self.launcher[0]) is None:
            raise GromacsError(f"the launcher {self.launcher[0]!r} of gromacs.command {command!r} is not on PATH")
        self.log_file = Path(log_file) if log_file else None
        self.is_mpi = "mpi" in Path(self.driver).name

    def _tool(self, name: str):
        gromacs = _gromacs_module()
        cls = gromacs.tools.tool_factory(name.capitalize().replace("-", "_"), name, self.driver)
        return cls(failure=None)

    def __call__(
        self, tool: str, *args: str, cwd: Path | str, stdin: Sequence[str] | None = None, check: bool = True, **flags
    ) -> str:
        """Run ``gmx <tool>`` in ``cwd``; flags follow GromacsWrapper (``f="em.mdp"`` -> ``-f em.mdp``).

        Returns the combined output. With ``check`` a failure raises :class:`GromacsError`
        carrying the tail of the output.
        """
        gromacs = _gromacs_module()
        cmd = self._tool(tool)
        launcher = self.launcher if tool == "mdrun" else []
        with gromacs.utilities.in_dir(str(cwd), create=False):
            kwargs = dict(flags, stdout=False, stderr=False)
            if stdin is not None:
                kwargs["input"] = list(stdin)
            try:
                if launcher:  # GromacsWrapper builds the command line; the launcher goes in front
                    argv = [*launcher, *cmd.commandline(*args, **flags)]
                    done = subprocess.run(argv, capture_output=True, text=True, input="\n".join(stdin or []))
                    rc, out, err = done.returncode, done.stdout, done.stderr
                else:
                    rc, out, err = cmd(*args, **kwargs)
            except OSError as exc:  # the driver vanished or is not executable
                raise GromacsError(f"could not start {self.command} {tool}: {exc}; {INSTALL_HINT}") from None
        text = (out or "") + (err or "")
        line = " ".join([*launcher, *cmd.commandline(*args, **flags)])
        if self.log_file:
            with open(self.log_file, "a") as fh:
                fh.write(f"\n$ (cd {cwd} && {line})\n{text}\n")
        if rc != 0 and check:
            extra = ""
            if tool == "mdrun":
                mdlog = Path(cwd) / f"{flags.get('deffnm', 'md')}.log"
                if mdlog.is_file():
                    extra = f"\n--- tail of {mdlog} ---\n{tail(mdlog.read_text(errors='replace'), 15)}"
            raise GromacsError(f"{line} failed (exit {rc}) in {cwd}:\n{tail(text)}{extra}")
        return text

    def mdrun(self, cwd: Path | str, deffnm: str, threads: int = 1, checkpoint_minutes: float = 15.0) -> str:
        """Run (or continue from ``<deffnm>.cpt``) an mdrun; returns its output."""
        flags: dict[str, object] = {"deffnm": deffnm, "cpt": checkpoint_minutes}
        if self.reproducible:
            flags["reprod"] = True
        if (Path(cwd) / f"{deffnm}.cpt").is_file():
            log.info("continuing %s from its checkpoint", Path(cwd) / f"{deffnm}.cpt")
            flags["cpi"] = f"{deffnm}.cpt"
        if self.is_mpi:
            flags["ntomp"] = threads
        else:
            flags.update(ntmpi=1, ntomp=threads)
        return self("mdrun", cwd=cwd, **flags)

    def data_dir(self) -> Path:
        """GROMACS' share/top directory (force fields and water boxes)."""
        out = subprocess.run([self.path, "-quiet", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"Data prefix:\s+(\S+)", out)
        candidates = [Path(m.group(1)) / "share" / "gromacs" / "top"] if m else []
        if "GMXDATA" in os.environ:
            candidates.insert(0, Path(os.environ["GMXDATA"]) / "top")
        for c in candidates:
            if c.is_dir():
                return c
        raise GromacsError(f"cannot find the GROMACS data directory (share/gromacs/top) of {self.path}; set GMXDATA")


def performance_ns_per_day(md_log: Path | str) -> float:
    """The ``Performance:`` line of an mdrun log, in ns/day."""
    text = Path(md_log).read_text(errors="replace")
    found = re.findall(r"^Performance:\s+([\d.]+)", text, flags=re.M)
    if not found:
        raise GromacsError(f"{md_log}: no Performance line; did the run finish?")
    return float(found[-1])
