"""Atomic file writes: a killed process never leaves a half-written output behind.

Everything a job publishes goes through here: the data is written to a temporary file in the
same directory and moved into place with ``os.replace`` (atomic on POSIX), so a reader sees
either the old file, no file, or the complete new one.

The temporary is hidden and named ``.<name>.<writer>.<pid>.<random>.tmp``, where ``<writer>``
identifies this host and process namespace. A process killed mid-write (SIGKILL, OOM) cannot
remove its temporary; the next atomic write into the same directory from the same host removes
the temporaries whose writer process no longer exists, so a rerun task does not leave its dead
predecessor's partial file lying in the job's output directory.

A write that fails for lack of storage (disk full, quota, file too large, I/O error) removes its
temporary and raises the same ``OSError`` with the destination as ``filename``: the kernel's
message ("No space left on device") names no file.
"""
import contextlib
import errno
import hashlib
import os
import socket
import tempfile
from typing import IO, Iterator

__all__ = ["atomic_write", "atomic_save_torch", "remove_stale_temporaries"]

#: errors of the storage itself, re-raised naming the file that was being written
STORAGE_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG, errno.EIO,
                                       errno.EROFS) if e is not None)
_TMP_SUFFIX = ".tmp"
_writer_tag = None
_swept_dirs = set()


def _writer() -> str:
    """8 hex digits for this host and pid namespace: only there does a pid say whether the
    process that made a temporary still exists."""
    global _writer_tag
    if _writer_tag is None:
        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = ""
        _writer_tag = hashlib.sha1(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]
    return _writer_tag


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")  # ended, not yet reaped
    except (OSError, IndexError):
        return False


def remove_stale_temporaries(directory: str) -> list:
    """Remove the temporaries in ``directory`` left by dead writers on this host; returns their names."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(_TMP_SUFFIX)):
            continue
        parts = name[1:-len(_TMP_SUFFIX)].rsplit(".", 3)  # <name>, <writer>, <pid>, <random>
        if len(parts) != 4 or not parts[0] or parts[1] != _writer() or not parts[2].isdigit():
            continue
        pid = parts[2]
        if int(pid) != os.getpid() and _process_gone(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(name)
    return removed


def _sweep_once(directory: str) -> None:
    # once per directory and process: a directory that a job fills with many files is scanned once
    if directory not in _swept_dirs:
        _swept_dirs.add(directory)
        remove_stale_temporaries(directory)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success move it to ``path``.

    :param path: final destination
    :param mode: "w" (text) or "wb" (binary)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    _sweep_once(directory)
    prefix = f".{os.path.basename(path)}.{_writer()}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=_TMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in STORAGE_ERRNOS and e.filename is None:
            raise type(e)(e.errno, f"{e.strerror} (while writing; the partial file was removed)", path) from e
        raise


def atomic_save_torch(obj, path: str) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    with atomic_write(path, "wb") as f:
        torch.save(obj, f)
