"""The atomic writer under faults: a killed writer, a full disk, stale temporaries."""
import errno
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from memristor_asr.util import atomic
from memristor_asr.util.atomic import atomic_write, remove_stale_temporaries

RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "recipe")


def _temporaries(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_writer_killed_mid_write_leaves_only_a_hidden_temporary_which_the_next_write_removes(tmp_path):
    target = tmp_path / "out" / "data.bin"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {RECIPE!r})
        from memristor_asr.util.atomic import atomic_write
        with atomic_write({str(target)!r}, "wb") as f:
            f.write(b"x" * 100000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not target.exists()
    left = _temporaries(target.parent)
    assert len(left) == 1 and left[0].startswith(".data.bin.") and os.path.getsize(target.parent / left[0]) == 100000
    with atomic_write(target.parent / "other.txt") as f:  # any later write into the directory
        f.write("ok\n")
    assert _temporaries(target.parent) == []
    assert sorted(os.listdir(target.parent)) == ["other.txt"]


def test_temporaries_of_live_or_foreign_writers_are_kept(tmp_path):
    writer = atomic._writer()
    live = tmp_path / f".a.txt.{writer}.{os.getppid()}.abc123.tmp"  # our parent is alive
    foreign = tmp_path / ".b.txt.0123abcd.1.abc123.tmp"  # another host: its pid says nothing here
    unrelated = tmp_path / ".c.txt.tmp"
    for p in (live, foreign, unrelated):
        p.write_text("partial")
    assert remove_stale_temporaries(str(tmp_path)) == []
    assert live.exists() and foreign.exists() and unrelated.exists()


def _full_disk_after(room):
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f, self.room = f, room

        def write(self, data):
            if len(data) > self.room:
                self.f.write(data[:self.room])
                self.f.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= len(data)
            return self.f.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self.f, name)

    return lambda fd, *a, **k: Full(real(fd, *a, **k))


def test_disk_full_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "big.bin"
    monkeypatch.setattr(atomic.os, "fdopen", _full_disk_after(1000))
    with pytest.raises(OSError) as info:
        with atomic_write(target, "wb") as f:
            for _ in range(10):
                f.write(b"y" * 500)
    e = info.value
    assert e.errno == errno.ENOSPC and e.filename == str(target)
    assert "No space left on device" in str(e) and str(target) in str(e)
    assert isinstance(e.__cause__, OSError) and e.__cause__.filename is None
    assert os.listdir(tmp_path) == []


def test_other_errors_pass_through_unchanged_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="bad value"):
        with atomic_write(tmp_path / "a.txt") as f:
            f.write("half")
            raise ValueError("bad value")
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError) as info:
        with atomic_write(tmp_path / "b.txt") as f:
            open(missing)
    assert info.value.filename == str(missing)  # an input's error keeps naming the input
    assert os.listdir(tmp_path) == []
