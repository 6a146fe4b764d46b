"""A throw-away single-node SLURM cluster for tests (Debian's ``slurm-wlm`` + ``munge``).

Everything lives in one temp dir: a fresh munge key and socket, ``slurm.conf`` with this host's
name, cores and memory, state/spool/log/pid files, free ports. Clients find it through the
``SLURM_CONF`` environment variable (:attr:`LocalSlurmCluster.env`). The daemons are stopped by
their pid files.

Memory limits are enforced in one of two ways (``memory_limits``):

* ``"poll"`` (the default): ``jobacct_gather/linux`` with ``OverMemoryKill`` samples each step's RSS
  every second and kills a step over its limit. SLURM's output then says "exceeded memory limit",
  but the job ends as FAILED (``sacct``/``scontrol``), never OUT_OF_MEMORY. Needs no cgroups.
* ``"cgroup"``: ``task/cgroup`` + ``proctrack/cgroup`` with ``ConstrainRAMSpace`` (``cgroup.conf``,
  ``cgroup/v1``): the kernel's OOM killer ends the task, and SLURM reports the job as OUT_OF_MEMORY,
  as on a production cluster. Needs a writable cgroup v1 memory and freezer hierarchy under
  /sys/fs/cgroup (``cgroup/v2`` is not tried: Slurm 22.05 expects slurmd under systemd for it);
  ``"auto"`` takes cgroups where that hierarchy exists, else "poll".

With ``accounting=True`` the cluster also keeps accounting for real, so that ``sacct`` answers: a
private MariaDB server (``mariadb-install-db`` + ``mariadbd``, data dir on tmpfs where there is
room, TCP on a free 127.0.0.1 port, an accounting user created by ``--init-file``) and ``slurmdbd``
on it (``slurmdbd.conf`` next to ``slurm.conf``, mode 600); the cluster is registered with
``sacctmgr`` before ``slurmctld`` starts. This adds about 2-6 s to the start-up.
"""
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

__all__ = ["LocalSlurmCluster", "missing_slurm_reason", "cgroup_v1_memory_usable"]

_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo")
#: what accounting needs on top (Debian packages slurmdbd, mariadb-server; sacct(mgr) come with slurm-client)
_ACCOUNTING_BINARIES = ("slurmdbd", "mariadbd", "mariadb-install-db", "sacct", "sacctmgr")
_DB_USER, _DB_NAME = "slurm", "slurm_acct_db"
#: a small, fast and non-durable InnoDB: a test database lives for minutes
_MARIADB_OPTS = ("--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
                 "--innodb-data-file-path=ibdata1:4M:autoextend", "--innodb-flush-log-at-trx-commit=0",
                 "--innodb-doublewrite=0", "--innodb-use-native-aio=0", "--innodb-lock-wait-timeout=900")


def _which(name: str) -> Optional[str]:
    candidates = (os.path.join(d, name) for d in ("/usr/sbin", "/sbin"))
    return shutil.which(name) or next((p for p in candidates if os.access(p, os.X_OK)), None)


def missing_slurm_reason(accounting: bool = False) -> Optional[str]:
    """Why a local cluster (with ``accounting``: and its accounting) cannot be started here (None if it can)."""
    missing = [b for b in _BINARIES if _which(b) is None]
    if missing:
        return (f"SLURM/munge binaries not installed ({', '.join(missing)}); "
                f"apt-get install slurm-wlm munge")
    missing = [b for b in _ACCOUNTING_BINARIES if accounting and _which(b) is None]
    if missing:
        return (f"SLURM accounting binaries not installed ({', '.join(missing)}); "
                f"apt-get install slurmdbd mariadb-server")
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
    """
    :param accounting: also run MariaDB + ``slurmdbd``, so that ``sacct`` answers
    :param memory_limits: ``"poll"``, ``"cgroup"`` or ``"auto"`` (see the module doc); the choice made
        is in :attr:`memory_limits`
    """

    def __init__(self, cpus: Optional[int] = None, mem_mb: Optional[int] = None, accounting: bool = False,
                 memory_limits: str = "poll"):
        if memory_limits not in ("poll", "cgroup", "auto"):
            raise ValueError(f"memory_limits must be poll, cgroup or auto, not {memory_limits!r}")
        if memory_limits == "auto":
            memory_limits = "cgroup" if cgroup_v1_memory_usable() else "poll"
        self.cpus = cpus or os.cpu_count() or 1
        self.mem_mb = mem_mb or max(1024, int(_mem_mb() * 0.5))
        self.host = socket.gethostname().split(".")[0]
        self.accounting = accounting
        self.memory_limits = memory_limits
        self.root: Optional[str] = None
        self.db_dir: Optional[str] = None
        self.env: dict = {}
        self.startup_seconds: Optional[float] = None
        self._mariadbd: Optional[subprocess.Popen] = None

    # ---- files ---------------------------------------------------------------------------------
    def _p(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _write_config(self) -> None:
        user = getpass.getuser()
        if self.accounting:
            self._db_port, self._dbd_port = _free_port(), _free_port()
            accounting = (f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
                          f"AccountingStoragePort={self._dbd_port}\n"
                          # the munge socket for talking to slurmdbd (AuthInfo is not used for that)
                          f"AccountingStoragePass={self._p('munge.sock')}\n")
        else:
            accounting = "AccountingStorageType=accounting_storage/none\n"
        if self.memory_limits == "cgroup":
            limits = "ProctrackType=proctrack/cgroup\nTaskPlugin=task/cgroup\n"
            with open(self._p("cgroup.conf"), "w") as f:  # read from SLURM_CONF's directory
                f.write("CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\nCgroupAutomount=no\n"
                        "ConstrainRAMSpace=yes\nConstrainSwapSpace=no\nConstrainCores=no\nConstrainDevices=no\n")
        else:
            limits = "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherParams=OverMemoryKill\n"
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
{limits}SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
{accounting}JobCompType=jobcomp/none
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
        if self.accounting:
            # slurmdbd reads slurmdbd.conf from SLURM_CONF's directory; it refuses one that others may read
            fd = os.open(self._p("slurmdbd.conf"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"""\
AuthType=auth/munge
AuthInfo=socket={self._p('munge.sock')}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={self._dbd_port}
SlurmUser={user}
PidFile={self._p('slurmdbd.pid')}
LogFile={self._p('slurmdbd.log')}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self._db_port}
StorageUser={_DB_USER}
StoragePass={self._db_password}
StorageLoc={_DB_NAME}
""")

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "LocalSlurmCluster":
        t0 = time.time()
        # munged insists on a socket dir everyone may traverse, so not below pytest's 0700 tmp dirs
        self.root = tempfile.mkdtemp(prefix="sisslurm-", dir="/tmp")
        os.chmod(self.root, 0o711)
        for sub in ("state", "spool"):
            os.makedirs(self._p(sub))
        key = self._p("munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self._db_password = os.urandom(12).hex()
        self._write_config()
        self.env = {"SLURM_CONF": self._p("slurm.conf")}
        env = {**os.environ, **self.env}
        try:
            subprocess.run([_which("munged"), f"--key-file={key}", f"--socket={self._p('munge.sock')}",
                            f"--pid-file={self._p('munged.pid')}", f"--log-file={self._p('munged.log')}",
                            f"--seed-file={self._p('munged.seed')}"], check=True, capture_output=True, env=env)
            if self.accounting:
                self._start_accounting(env, deadline=t0 + timeout)
            subprocess.run([_which("slurmctld"), "-f", self._p("slurm.conf")], check=True, capture_output=True, env=env)
            subprocess.run([_which("slurmd"), "-f", self._p("slurm.conf"), "-N", self.host], check=True,
                           capture_output=True, env=env)
            deadline = t0 + timeout
            while time.time() < deadline:
                out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env)
                if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed", "allocated"):
                    self.startup_seconds = time.time() - t0
                    return self
                time.sleep(0.3)
            raise RuntimeError(f"SLURM node not idle after {timeout:.0f} s (sinfo: {out.stdout.strip()} "
                               f"{out.stderr.strip()})")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as e:
            detail = getattr(e, "stderr", b"") or b""
            logs = self.log_tails()
            self.stop()
            raise RuntimeError(f"could not start the local SLURM cluster: {e} {detail.decode(errors='replace')}\n"
                               f"{logs}") from None

    def _start_accounting(self, env: dict, deadline: float) -> None:
        """MariaDB on a fresh data dir, then slurmdbd on it, then the cluster registered in it."""
        self.db_dir = tempfile.mkdtemp(prefix="sisslurm-db-", dir=_db_parent())
        with open(self._p("mariadb-init.sql"), "w") as f:  # run by mariadbd at start-up, before it serves
            f.write(f"CREATE USER IF NOT EXISTS '{_DB_USER}'@'127.0.0.1' IDENTIFIED BY '{self._db_password}';\n"
                    f"GRANT ALL ON {_DB_NAME}.* TO '{_DB_USER}'@'127.0.0.1';\n")
        os.chmod(self._p("mariadb-init.sql"), 0o600)
        user = getpass.getuser()
        with open(self._p("mariadb-install.log"), "wb") as logf:
            subprocess.run([_which("mariadb-install-db"), "--no-defaults", f"--datadir={self.db_dir}", f"--user={user}",
                            "--auth-root-authentication-method=normal", "--skip-test-db", *_MARIADB_OPTS],
                           check=True, stdout=logf, stderr=subprocess.STDOUT, env=env,
                           timeout=max(1.0, deadline - time.time()))
        # mariadbd does not daemonize: it stays our child (own session), which stop() terminates and reaps
        with open(os.devnull, "wb") as null:
            self._mariadbd = subprocess.Popen(
                [_which("mariadbd"), "--no-defaults", f"--datadir={self.db_dir}", f"--user={user}",
                 "--bind-address=127.0.0.1", f"--port={self._db_port}", f"--socket={self._p('mariadb.sock')}",
                 f"--pid-file={self._p('mariadb.pid')}", f"--log-error={self._p('mariadb.log')}",
                 f"--init-file={self._p('mariadb-init.sql')}", *_MARIADB_OPTS],
                stdin=null, stdout=null, stderr=null, env=env, start_new_session=True)
        self._wait_for_log("mariadb.log", "ready for connections", deadline, self._mariadbd)
        subprocess.run([_which("slurmdbd")], check=True, capture_output=True, env=env)  # daemonizes
        self._wait_for_log("slurmdbd.log", " started", deadline)
        subprocess.run([_which("sacctmgr"), "-i", "add", "cluster", "sistest"], check=True, capture_output=True,
                       env=env, timeout=max(1.0, deadline - time.time()))

    def _wait_for_log(self, name: str, text: str, deadline: float, proc: Optional[subprocess.Popen] = None) -> None:
        while time.time() < deadline:
            try:
                with open(self._p(name), errors="replace") as f:
                    content = f.read()
            except OSError:
                content = ""
            if text in content:
                return
            if "fatal:" in content or (proc is not None and proc.poll() is not None):
                break
            time.sleep(0.1)
        raise RuntimeError(f"{name} never said {text!r}")

    def log_tails(self, lines: int = 15) -> str:
        out = []
        for name in ("munged.log", "mariadb-install.log", "mariadb.log", "slurmdbd.log", "slurmctld.log", "slurmd.log"):
            try:
                with open(self._p(name), errors="replace") as f:
                    out.append(f"--- {name}\n" + "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(list(cmd), capture_output=True, text=True, check=check, env={**os.environ, **self.env})

    @contextlib.contextmanager
    def in_environment(self):
        """This process's environment points at the cluster (``self.env``) while the block runs;
        the cluster is stopped and the environment restored afterwards."""
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            yield self
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self.stop()

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
        _stop_pidfiles(self._p("slurmd.pid"), self._p("slurmctld.pid"))
        _stop_pidfiles(self._p("slurmdbd.pid"))  # after slurmctld, which reports to it until it ends
        if self._mariadbd is not None:  # our child: terminate and reap it
            self._mariadbd.terminate()
            try:
                self._mariadbd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._mariadbd.kill()
                self._mariadbd.wait()
            self._mariadbd = None
        _stop_pidfiles(self._p("munged.pid"))
        if self.db_dir:
            shutil.rmtree(self.db_dir, ignore_errors=True)
            self.db_dir = None
        if os.environ.get("SIS_TEST_SLURM_KEEP"):  # for a post-mortem: configs and daemon logs stay
            print(f"[slurm_cluster] kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def sacct_state(self, slurm_id: str) -> str:
        """What accounting says about one job (allocation line), e.g. ``OUT_OF_MEMORY``; '' if nothing."""
        out = self.run("sacct", "-n", "-P", "-X", "-j", slurm_id, "-o", "State", check=False).stdout.split()
        return out[0] if out else ""


def cgroup_v1_memory_usable() -> bool:
    """A cgroup v1 memory (and freezer, for proctrack/cgroup) hierarchy that root may create groups in."""
    if os.geteuid() != 0 or not os.path.isfile("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        return False
    return all(os.path.isfile(os.path.join("/sys/fs/cgroup", c, "cgroup.procs"))
               and os.access(os.path.join("/sys/fs/cgroup", c), os.W_OK) for c in ("memory", "freezer"))


def _db_parent() -> str:
    """Where the test database lives: tmpfs if it has room (much faster start-up than a disk), else /tmp."""
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 512 * 1024 * 1024 and os.access("/dev/shm", os.W_OK):
            return "/dev/shm"
    except OSError:
        pass
    return "/tmp"


def _stop_pidfiles(*paths: str, timeout: float = 10.0) -> None:
    """SIGTERM the daemons of these pid files together, SIGKILL those still there after ``timeout``."""
    pids = []
    for path in paths:
        try:
            with open(path) as f:
                pid = int(f.read().split()[0])
            os.kill(pid, signal.SIGTERM)
            pids.append(pid)
        except (OSError, ValueError, IndexError):
            pass
    deadline = time.time() + timeout
    while pids and time.time() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
