"""A throw-away one-node Slurm cluster from Debian's packages, for the integration tests.

Everything lives under one private directory: slurm.conf, gres.conf and slurmdbd.conf, the
state and spool directories, the logs, a munge key and socket, and a MariaDB datadir for
slurmdbd (so that ``sacct`` works). Nothing in /etc is read or written, the daemons talk over
127.0.0.1 on free ports picked at start, and ``stop()`` ends every daemon it started.

The node has the machine's cores and memory (as ``slurmd -C`` finds them) and one fake GPU
(``gres/gpu`` on /dev/null), in two partitions: ``cpu`` (the default) and ``gpu``.

Needs root and Debian's slurmctld slurmd slurm-client munge slurmdbd mariadb-server
(``make test`` installs them); ``missing()`` says what is lacking.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

NODE = "node1"
PACKAGES = "slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
# the programs used here, by package; daemons are looked up in the sbin directories too
PROGRAMS = {
    "slurmctld": ["slurmctld"],
    "slurmd": ["slurmd"],
    "slurm-client": ["sbatch", "srun", "sacct", "sacctmgr", "scontrol", "sinfo", "squeue", "scancel"],
    "munge": ["munged", "munge", "unmunge"],
    "slurmdbd": ["slurmdbd"],
    "mariadb-server": ["mariadbd", "mariadb-install-db", "mariadb", "mariadb-admin"],
}


def find(program: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(program, path=path)


def missing() -> str | None:
    """Why no cluster can be started here (one sentence), or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the Slurm test needs root (its slurmd runs the jobs as root); `make test` as root runs it"
    lacking = [p for programs in PROGRAMS.values() for p in programs if find(p) is None]
    if lacking:
        return (f"the Slurm test needs Debian's packages {PACKAGES} (`make test` installs them as root): "
                f"{' '.join(lacking)} not found")  # fmt: skip
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if pred():
                return time.monotonic() - t0
        except RuntimeError:
            raise
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _meminfo_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """``start()`` returns the environment for Slurm's clients (SLURM_CONF, and an ``srun`` on
    PATH that keeps it); ``stop()`` cancels what is left and ends the daemons."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.env: dict[str, str] = {}
        self.start_s = 0.0

    # ------------------------------------------------------------------ config
    def _write_configs(self) -> None:
        b = self.base
        for d in ("etc", "state", "spool", "log", "run", "munge", "bin", "mysql"):
            (b / d).mkdir(parents=True, exist_ok=True)
        os.chmod(b / "munge", 0o700)
        line = subprocess.check_output([find("slurmd"), "-C"], text=True).splitlines()[0]
        kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
        self.cpus = int(kv["CPUs"])
        # the machine's memory; never more than slurmd finds, or it drains the node
        self.mem_mb = min(int(kv["RealMemory"]), _meminfo_mib())
        geometry = " ".join(f"{k}={kv[k]}" for k in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket",
                                                      "ThreadsPerCore"))  # fmt: skip
        self.ports = {name: _free_port() for name in ("ctld", "slurmd", "dbd", "mysql")}
        self.munge_socket = sock = b / "munge" / "munge.socket"
        conf = f"""\
ClusterName=scoredyn
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={self.ports["ctld"]}
SlurmdPort={self.ports["slurmd"]}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={b}/run/slurmctld.pid
SlurmdPidFile={b}/run/slurmd.pid
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
GresTypes=gpu
# a job larger than the node is refused by sbatch, not left PENDING for ever
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self.ports["dbd"]}
# the munge socket of the slurmdbd connection comes from here, not from AuthInfo
AccountingStoragePass={sock}
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={NODE} {geometry} RealMemory={self.mem_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={NODE} MaxTime=INFINITE State=UP
"""
        (b / "etc" / "slurm.conf").write_text(conf)
        # a GPU without a GPU: Count=1 without File= registers none and the node goes INVAL
        (b / "etc" / "gres.conf").write_text(f"AutoDetect=off\nNodeName={NODE} Name=gpu File=/dev/null\n")
        dbd = b / "etc" / "slurmdbd.conf"
        dbd.write_text(f"""\
AuthType=auth/munge
AuthInfo=socket={sock}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={self.ports["dbd"]}
SlurmUser=root
PidFile={b}/run/slurmdbd.pid
LogFile={b}/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.ports["mysql"]}
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
""")  # fmt: skip
        os.chmod(dbd, 0o600)  # slurmdbd refuses a file others can read
        # The slurm-jobstep plugin strips every SLURM_* variable, SLURM_CONF too, from the
        # environment of the srun it runs inside a job; this srun first on PATH puts it back.
        srun = b / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nexport SLURM_CONF={b}/etc/slurm.conf\nexec {find("srun")} "$@"\n')
        os.chmod(srun, 0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}  # not a job's context
        env["SLURM_CONF"] = str(b / "etc" / "slurm.conf")
        env["PATH"] = f"{b}/bin:{env.get('PATH', '/usr/bin:/bin')}"
        self.env = env

    # ------------------------------------------------------------------ start
    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        with open(self.base / "log" / f"{name}.stdout", "w") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        self.procs.append((name, p))
        return p

    def _alive(self, name: str, p: subprocess.Popen) -> bool:
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with {p.returncode} during start-up; logs:\n{self.logs()}")
        return True

    def _ok(self, cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30, **kw)

    def start(self, timeout: float = 120) -> dict[str, str]:
        try:
            return self._start(timeout)
        except TimeoutError as err:
            raise TimeoutError(f"{err}; logs:\n{self.logs()}") from err

    def _start(self, timeout: float) -> dict[str, str]:
        t0 = time.monotonic()
        self._write_configs()
        b = self.base
        key = b / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        p = self._spawn("munged", [find("munged"), "-F", "--force", f"--key-file={key}",
                                   f"--socket={self.munge_socket}", f"--pid-file={b}/munge/munged.pid",
                                   f"--log-file={b}/log/munged.log", f"--seed-file={b}/munge/munged.seed"])  # fmt: skip
        sock = self.munge_socket
        _wait(lambda: self._alive("munged", p)
              and self._ok(f"{find('munge')} -n -S {sock} | {find('unmunge')} -S {sock}", shell=True).returncode == 0,
              timeout, "munged")  # fmt: skip
        self._start_accounting(timeout)
        conf = self.env["SLURM_CONF"]
        p = self._spawn("slurmctld", [find("slurmctld"), "-D", "-f", conf])
        _wait(lambda: self._alive("slurmctld", p) and "UP" in self._ok([find("scontrol"), "ping"]).stdout,
              timeout, "slurmctld")  # fmt: skip
        p = self._spawn("slurmd", [find("slurmd"), "-D", "-f", conf, "-N", NODE])
        _wait(lambda: self._alive("slurmd", p)
              and self._ok([find("sinfo"), "-h", "-N", "-o", "%t"]).stdout.split() == ["idle", "idle"],
              timeout, "the node to be idle in both partitions")  # fmt: skip
        self.start_s = time.monotonic() - t0
        return self.env

    def _start_accounting(self, timeout: float) -> None:
        """A private MariaDB on 127.0.0.1 and slurmdbd on it (slurmctld registers the cluster and
        its root account itself)."""
        b = self.base
        data, msock = b / "mysql", b / "run" / "mysql.sock"
        subprocess.run([find("mariadb-install-db"), "--no-defaults", f"--datadir={data}", "--user=root",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, timeout=timeout)  # fmt: skip
        p = self._spawn("mariadbd", [find("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root",
                                     f"--socket={msock}", f"--port={self.ports['mysql']}", "--bind-address=127.0.0.1",
                                     f"--pid-file={b}/run/mysqld.pid", f"--log-error={b}/log/mysqld.log",
                                     "--innodb-buffer-pool-size=64M", "--skip-name-resolve",
                                     "--performance-schema=OFF"])  # fmt: skip
        admin = [find("mariadb-admin"), "--no-defaults", f"--socket={msock}", "-uroot", "ping"]
        _wait(lambda: self._alive("mariadbd", p) and self._ok(admin).returncode == 0, timeout, "mariadbd")
        sql = ("CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';"
               "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';")  # fmt: skip
        subprocess.run([find("mariadb"), "--no-defaults", f"--socket={msock}", "-uroot", "-e", sql],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        p = self._spawn("slurmdbd", [find("slurmdbd"), "-D"])  # slurmdbd.conf: beside SLURM_CONF

        def listening() -> bool:
            socket.create_connection(("127.0.0.1", self.ports["dbd"]), timeout=1).close()
            return True

        _wait(lambda: self._alive("slurmdbd", p) and listening(), timeout, "slurmdbd")

    # ------------------------------------------------------------------ use
    def sacct(self, since: str, fields: list[str]) -> list[dict[str, str]]:
        """Every job (allocations only, not steps) since ``since`` (YYYY-MM-DDTHH:MM:SS); a field
        that may hold a ``|`` (SubmitLine) must come last."""
        res = self._ok([find("sacct"), "-X", "-a", "-P", "-n", "-S", since, "-E", "now", "-o", ",".join(fields)])
        if res.returncode != 0:
            raise RuntimeError(f"sacct failed ({res.returncode}): {res.stderr}")
        return [
            dict(zip(fields, line.split("|", len(fields) - 1), strict=True)) for line in res.stdout.splitlines() if line
        ]

    def logs(self, tail: int = 30) -> str:
        """The last lines of each daemon's log, for failure messages."""
        parts = []
        for log in sorted((self.base / "log").glob("*")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            if lines:
                parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        if any(name == "slurmctld" and p.poll() is None for name, p in self.procs):
            try:
                self._ok([find("scancel"), "--full", "--quiet", "-u", "root"])
                time.sleep(1)
            except subprocess.TimeoutExpired:
                pass
        for _name, p in reversed(self.procs):  # slurmd, slurmctld, slurmdbd, mariadbd, munged
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()
