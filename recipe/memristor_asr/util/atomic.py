"""Atomic file writes: a killed process never leaves a half-written output behind.

Everything a job publishes goes through here: the data is written to a temporary file in the
same directory and moved into place with ``os.replace`` (atomic on POSIX), so a reader sees
either the old file, no file, or the complete new one.
"""
import contextlib
import os
import tempfile
from typing import IO, Iterator

__all__ = ["atomic_write", "atomic_save_torch"]


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success move it to ``path``.

    :param path: final destination
    :param mode: "w" (text) or "wb" (binary)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_save_torch(obj, path: str) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    with atomic_write(path, "wb") as f:
        torch.save(obj, f)
