"""Paths between jobs: ``Path`` (a file or directory) and ``Variable`` (a Python value in a file).

A path created by a job (``creator``) lives in ``<work>/<job id>/output/<path>`` and is available
once that job says so; a raw path (no creator) is an input of the setup and is available when it
exists. Paths hash by (creator id + "/output", path), not by their absolute location.
"""
import ast
import os
import pickle

from sisyphus import global_settings as gs
from sisyphus.hash import sis_hash_helper

__all__ = ["Path", "Variable"]


class Path:
    """
    :param path: file name relative to the creator's output dir, or a raw input path
    :param creator: the job that makes this path (None for inputs of the setup)
    :param hash_overwrite: (creator, path) or path to hash instead of the real ones
    """

    def __init__(self, path: str, creator=None, cached: bool = False, hash_overwrite=None, tags=None):
        if not isinstance(path, str):
            path = os.fspath(path)
        self.path = path
        self.creator = creator
        self.cached = cached
        self.hash_overwrite = hash_overwrite
        self.users = set()

    # --- hashing and identity -------------------------------------------------------------
    def _sis_hash(self) -> bytes:
        if self.hash_overwrite is None:
            creator, path = self.creator, self.path
        elif isinstance(self.hash_overwrite, (tuple, list)):
            creator, path = self.hash_overwrite
        else:
            creator, path = None, self.hash_overwrite
        if hasattr(creator, "_sis_id"):
            creator = os.path.join(creator._sis_id(), gs.JOB_OUTPUT)
        return b"(Path, " + sis_hash_helper((creator, path)) + b")"

    def _key(self):
        return (self.creator._sis_id() if self.creator is not None else None, self.path)

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __lt__(self, other):
        return (str(self._key()[0]), self.path) < (str(other._key()[0]), other.path)

    def __getstate__(self):
        d = dict(self.__dict__)
        d["users"] = set()  # users are rebuilt in the loading process; keeps pickles small
        return d

    def __setstate__(self, state):
        self.__dict__.update(state)

    # --- location ---------------------------------------------------------------------------
    def get_path(self) -> str:
        if self.creator is None:
            return self.path if os.path.isabs(self.path) else os.path.join(gs.BASE_DIR, self.path)
        return os.path.join(self.creator._sis_path(gs.JOB_OUTPUT, abspath=True), self.path)

    def __str__(self):
        return self.get_path()

    def __fspath__(self):
        return self.get_path()

    def __repr__(self):
        if self.creator is None:
            return f"<Path {self.path}>"
        return f"<Path {self.creator._sis_id()}/{gs.JOB_OUTPUT}/{self.path}>"

    def join_right(self, other: str) -> "Path":
        """A path below this one (e.g. a file inside an output directory)."""
        return Path(os.path.join(self.path, other), self.creator, hash_overwrite=None)

    def add_user(self, job) -> None:
        self.users.add(job)

    # --- availability -----------------------------------------------------------------------
    def available(self, debug_info=None) -> bool:
        if self.creator is None:
            return os.path.exists(self.get_path())
        return self.creator.path_available(self)

    def is_raw_input(self) -> bool:
        return self.creator is None


class Variable(Path):
    """A Python value stored in a job output file: ``repr`` text, or a pickle when ``pickle=True``."""

    def __init__(self, path: str, creator=None, pickle: bool = False, backup=None):
        super().__init__(path, creator)
        self.pickle = pickle
        self.backup = backup

    def get(self):
        p = self.get_path()
        if not os.path.exists(p):
            if self.backup is not None:
                return self.backup
            raise FileNotFoundError(f"variable {self!r} is not set yet ({p} does not exist)")
        if self.pickle:
            with open(p, "rb") as f:
                return pickle.load(f)
        with open(p, encoding="utf-8") as f:
            text = f.read().strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return eval(text, {"__builtins__": {}}, {"inf": float("inf"), "nan": float("nan")})

    def set(self, value) -> None:
        from sisyphus.tools import atomic_write_bytes

        data = pickle.dumps(value) if self.pickle else (repr(value) + "\n").encode()
        atomic_write_bytes(self.get_path(), data)

    def is_set(self) -> bool:
        return os.path.exists(self.get_path())

    def __repr__(self):
        return "<Variable " + super().__repr__()[len("<Path "):]
