"""A throw-away single-node SLURM cluster for tests (Debian's ``slurm-wlm`` + ``munge``).

Everything lives in one temp dir: a fresh munge key and socket, ``slurm.conf`` with this host's
name, cores and memory, state/spool/log/pid files, free ports. Clients find it through the
``SLURM_CONF`` environment variable (:attr:`LocalSlurmCluster.env`). The daemons are stopped by
their pid files.

Memory limits are enforced by polling (``jobacct_gather/linux`` with ``OverMemoryKill``, every
second), since there are no cgroups to use here.
"""
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

__all__ = ["LocalSlurmCluster", "missing_slurm_reason"]

_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo")


def _which(name: str) -> Optional[str]:
    return shutil.which(name) or next((p for d in ("/usr/sbin", "/sbin") if os.access(p := os.path.join(d, name), os.X_OK)),
                                      None)


def missing_slurm_reason() -> Optional[str]:
    """Why a local cluster cannot be started here (None if it can)."""
    missing = [b for b in _BINARIES if _which(b) is None]
    if missing:
        return (f"SLURM/munge binaries not installed ({', '.join(missing)}); "
                f"apt-get install slurm-wlm munge")
    if os.geteuid() != 0:
        return "starting slurmd needs root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 4096


class LocalSlurmCluster:
    def __init__(self, cpus: Optional[int] = None, mem_mb: Optional[int] = None):
        self.cpus = cpus or os.cpu_count() or 1
        self.mem_mb = mem_mb or max(1024, int(_mem_mb() * 0.5))
        self.host = socket.gethostname().split(".")[0]
        self.root: Optional[str] = None
        self.env: dict = {}

    # ---- files ---------------------------------------------------------------------------------
    def _p(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _write_config(self) -> None:
        user = getpass.getuser()
        conf = f"""\
ClusterName=sistest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self._p('munge.sock')}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={self._p('state')}
SlurmdSpoolDir={self._p('spool')}
SlurmctldPidFile={self._p('slurmctld.pid')}
SlurmdPidFile={self._p('slurmd.pid')}
SlurmctldLogFile={self._p('slurmctld.log')}
SlurmdLogFile={self._p('slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
KillWait=2
InactiveLimit=0
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb} State=UNKNOWN
PartitionName=main Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self._p("slurm.conf"), "w") as f:
            f.write(conf)

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "LocalSlurmCluster":
        # munged insists on a socket dir everyone may traverse, so not below pytest's 0700 tmp dirs
        self.root = tempfile.mkdtemp(prefix="sisslurm-", dir="/tmp")
        os.chmod(self.root, 0o711)
        for sub in ("state", "spool"):
            os.makedirs(self._p(sub))
        key = self._p("munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self._write_config()
        self.env = {"SLURM_CONF": self._p("slurm.conf")}
        env = {**os.environ, **self.env}
        try:
            subprocess.run([_which("munged"), f"--key-file={key}", f"--socket={self._p('munge.sock')}",
                            f"--pid-file={self._p('munged.pid')}", f"--log-file={self._p('munged.log')}",
                            f"--seed-file={self._p('munged.seed')}"], check=True, capture_output=True, env=env)
            subprocess.run([_which("slurmctld"), "-f", self._p("slurm.conf")], check=True, capture_output=True, env=env)
            subprocess.run([_which("slurmd"), "-f", self._p("slurm.conf"), "-N", self.host], check=True,
                           capture_output=True, env=env)
            deadline = time.time() + timeout
            while time.time() < deadline:
                out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env)
                if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed", "allocated"):
                    return self
                time.sleep(0.3)
            raise RuntimeError(f"SLURM node not idle after {timeout:.0f} s (sinfo: {out.stdout.strip()} "
                               f"{out.stderr.strip()})")
        except (subprocess.CalledProcessError, RuntimeError) as e:
            detail = getattr(e, "stderr", b"") or b""
            logs = self.log_tails()
            self.stop()
            raise RuntimeError(f"could not start the local SLURM cluster: {e} {detail.decode(errors='replace')}\n"
                               f"{logs}") from None

    def log_tails(self, lines: int = 15) -> str:
        out = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            try:
                with open(self._p(name), errors="replace") as f:
                    out.append(f"--- {name}\n" + "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(list(cmd), capture_output=True, text=True, check=check, env={**os.environ, **self.env})

    def stop(self) -> None:
        if self.root is None:
            return
        if os.path.exists(self._p("slurmctld.pid")):
            self.run("scancel", "--user", getpass.getuser(), check=False)
            deadline = time.time() + 10
            while time.time() < deadline:
                q = self.run("squeue", "-h", check=False)
                if q.returncode != 0 or not q.stdout.strip():
                    break
                time.sleep(0.3)
        for name in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
            _stop_pidfile(self._p(name))
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _stop_pidfile(path: str, timeout: float = 10.0) -> None:
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
