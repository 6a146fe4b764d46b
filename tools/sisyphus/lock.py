"""One manager per setup directory: an exclusive ``flock`` on ``.sis_manager.lock``."""
import fcntl
import os
import socket
import sys
import time

__all__ = ["ManagerLockError", "acquire_manager_lock"]


class ManagerLockError(RuntimeError):
    pass


def acquire_manager_lock(base_dir: str):
    """Take the lock or raise :class:`ManagerLockError` naming the process that holds it.

    The returned file object holds the lock until it is closed or the process ends.
    """
    path = os.path.join(base_dir, ".sis_manager.lock")
    f = open(path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown process"
        f.close()
        raise ManagerLockError(f"another manager is already running in {base_dir}: {holder}. "
                               f"Stop it first (or wait for it to finish).") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')} "
            f"({' '.join(sys.argv)})\n")
    f.flush()
    return f
