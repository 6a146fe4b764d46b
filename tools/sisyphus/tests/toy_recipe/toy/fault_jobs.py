"""Cheap jobs for the fault-injection tests (test_faults.py).

Every task appends one line ``<task> <task id> <pid>`` to ``<job dir>/executions`` when it
starts, so a test can count from the job directories how often each task id really ran. Files are
published through the recipe's atomic writer (``memristor_asr.util.atomic``), variables through
``tk.Variable.set``. Results depend on the arguments only (no times, pids or paths), so two runs of
the same graph give byte-identical outputs.

Fault hooks, read from the environment of the task process:

* ``FAULT_ENOSPC_AFTER_BYTES=N``: inside :class:`SlowWriteJob`, the file that the atomic writer
  opens accepts N bytes and then fails like a full disk (``OSError(ENOSPC)``, no file name, as
  the kernel reports it).
"""
import errno
import hashlib
import os
import time
from unittest import mock

from sisyphus import Job, Task, tk

ENOSPC_ENV = "FAULT_ENOSPC_AFTER_BYTES"


def _record(job, task: str, task_id: int) -> None:
    # O_APPEND: one short line per write, so concurrent tasks of a job do not garble each other
    fd = os.open(os.path.join(job._sis_path(abspath=True), "executions"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{task} {task_id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


def _write_text(path: str, text: str) -> None:
    from memristor_asr.util.atomic import atomic_write

    with atomic_write(path) as f:
        f.write(text)


def _numbers(path: str):
    with open(path, encoding="utf-8") as f:
        return [int(x) for x in f.read().split()]


class SeedJob(Job):
    """Writes ``n`` numbers derived from ``name``; one task."""

    def __init__(self, name: str, n: int = 12, sleep: float = 0.0):
        self.name = name
        self.n = n
        self.sleep = sleep
        self.out_numbers = self.output_path("numbers.txt")
        self.out_count = self.output_var("count")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 0.1})

    def run(self):
        _record(self, "run", 1)
        time.sleep(self.sleep)
        digest = hashlib.sha256(self.name.encode()).digest()
        nums = [digest[i % len(digest)] + i for i in range(self.n)]
        _write_text(self.out_numbers.get_path(), "\n".join(map(str, nums)) + "\n")
        self.out_count.set(len(nums))


class PowerJob(Job):
    """Raises every ``parts``-th number to ``power`` in ``parts`` parallel task ids, then merges
    them (second task); outputs a file and a variable."""

    def __init__(self, numbers: tk.Path, power: int, parts: int = 3, sleep: float = 0.0):
        self.numbers = numbers
        self.power = power
        self.parts = parts
        self.sleep = sleep
        self.out_values = self.output_path("values.txt")
        self.out_total = self.output_var("total")

    def tasks(self):
        yield Task("part", args=list(range(self.parts)), rqmt={"cpu": 1, "mem": 0.1})
        yield Task("merge", rqmt={"cpu": 1, "mem": 0.1})

    def part(self, index):
        _record(self, "part", index + 1)
        time.sleep(self.sleep)
        values = [x ** self.power for x in _numbers(self.numbers.get_path())[index::self.parts]]
        _write_text(f"part{index}.txt", "\n".join(map(str, values)) + "\n")

    def merge(self):
        _record(self, "merge", 1)
        time.sleep(self.sleep)
        values = []
        for index in range(self.parts):
            values += _numbers(f"part{index}.txt")
        values.sort()
        _write_text(self.out_values.get_path(), "\n".join(map(str, values)) + "\n")
        self.out_total.set(sum(values))


class CombineJob(Job):
    """Joins two branches (the diamond's bottom): two tasks, a file and a variable."""

    def __init__(self, left: tk.Path, right: tk.Path, left_total: tk.Variable, right_total: tk.Variable,
                 sleep: float = 0.0):
        self.left = left
        self.right = right
        self.left_total = left_total
        self.right_total = right_total
        self.sleep = sleep
        self.out_combined = self.output_path("combined.txt")
        self.out_checksum = self.output_var("checksum")

    def tasks(self):
        yield Task("interleave", rqmt={"cpu": 1, "mem": 0.1})
        yield Task("checksum", rqmt={"cpu": 1, "mem": 0.1})

    def interleave(self):
        _record(self, "interleave", 1)
        time.sleep(self.sleep)
        pairs = zip(_numbers(self.left.get_path()), _numbers(self.right.get_path()))
        lines = [f"{a} {b} {a - b}" for a, b in pairs]
        lines.append(f"totals {self.left_total.get()} {self.right_total.get()}")
        _write_text(self.out_combined.get_path(), "\n".join(lines) + "\n")

    def checksum(self):
        _record(self, "checksum", 1)
        time.sleep(self.sleep)
        with open(self.out_combined.get_path(), "rb") as f:
            self.out_checksum.set(hashlib.sha256(f.read()).hexdigest())


class SummaryJob(Job):
    """Reads every branch's file and variable."""

    def __init__(self, files: list, checksums: list, sleep: float = 0.0):
        self.files = files
        self.checksums = checksums
        self.sleep = sleep
        self.out_summary = self.output_path("summary.txt")

    def run(self):
        _record(self, "run", 1)
        time.sleep(self.sleep)
        lines = []
        for path, checksum in zip(self.files, self.checksums):
            with open(path.get_path(), "rb") as f:
                lines.append(f"{hashlib.sha256(f.read()).hexdigest()} {checksum.get()}")
        _write_text(self.out_summary.get_path(), "\n".join(lines) + "\n")


def big_payload(size: int) -> bytes:
    """The deterministic content :class:`SlowWriteJob` writes (also what tests compare against)."""
    block = hashlib.sha256(b"payload").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


class _DiskFullFile:
    """A file object that takes ``room`` bytes and then raises ENOSPC, like a write to a full disk
    (the kernel's error carries no file name). Everything else goes to the real file."""

    def __init__(self, f, room: int):
        self._f = f
        self._room = room

    def write(self, data):
        if len(data) > self._room:
            self._f.write(data[:self._room])
            self._f.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._f, name)


class SlowWriteJob(Job):
    """Writes ``size`` bytes to ``big.bin`` through the atomic writer, ``chunk`` bytes at a time.

    After half of the data it creates ``<job dir>/half_written`` and, if ``gate`` (a path relative
    to the setup dir) is given, waits until that file exists before writing the rest: a test can
    kill the task mid-write at a known point. A second output records the payload's digest.
    """

    def __init__(self, size: int, chunk: int = 65536, gate: str | None = None):
        self.size = size
        self.chunk = chunk
        self.gate = gate
        self.out_big = self.output_path("big.bin")
        self.out_digest = self.output_var("digest")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 0.1})

    def run(self):
        from memristor_asr.util import atomic

        _record(self, "run", 1)
        data = big_payload(self.size)
        room = os.environ.get(ENOSPC_ENV)
        patch = mock.patch.object(atomic.os, "fdopen", _disk_full_fdopen(int(room))) if room else _no_patch()
        half = os.path.join(self._sis_path(abspath=True), "half_written")
        with patch, atomic.atomic_write(self.out_big.get_path(), "wb") as f:
            for start in range(0, self.size, self.chunk):
                if start >= self.size // 2 and not os.path.exists(half):
                    f.flush()
                    open(half, "w").close()
                    self._wait_for_gate()
                f.write(data[start:start + self.chunk])
        self.out_digest.set(hashlib.sha256(data).hexdigest())

    def _wait_for_gate(self):
        if self.gate is None:
            return
        gate = os.path.join(os.environ["SIS_BASE_DIR"], self.gate)
        deadline = time.monotonic() + 600  # against a hang if the test dies; the test kills us long before
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)


def _disk_full_fdopen(room: int):
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        return _DiskFullFile(real_fdopen(fd, *args, **kwargs), room)

    return fdopen


class _no_patch:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
