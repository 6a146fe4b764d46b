"""A thread-safe progress log line (done/total, rate, ETA) for long data jobs."""
import logging
import threading
import time
from typing import Callable, Optional

__all__ = ["ProgressLog"]

log = logging.getLogger(__name__)


class ProgressLog:
    """Logs ``done/total``, rate and ETA at most every ``every`` seconds, and once at the end.

    :param sink: where lines go (default: this module's logger at INFO; jobs pass ``print``)
    """

    def __init__(self, total: int, what: str, every: float = 10.0, sink: Optional[Callable[[str], None]] = None):
        self.total, self.what, self.every = total, what, every
        self.sink = sink or log.info
        self.start = self.last = time.monotonic()
        self.done = 0
        self._lock = threading.Lock()

    def step(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self.last < self.every and self.done != self.total:
                return
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            line = (f"{self.what}: {self.done}/{self.total} "
                    f"({rate:.1f}/s, elapsed {now - self.start:.0f} s, ETA {eta:.0f} s)")
        self.sink(line)
