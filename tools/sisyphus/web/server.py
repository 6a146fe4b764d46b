"""Starting and stopping the console: a threaded HTTP server in a daemon thread, hooked into the
manager's ``on_update`` so that every check publishes a fresh snapshot."""
import logging
import signal
import threading
from http.server import ThreadingHTTPServer

from sisyphus.web.console import Console
from sisyphus.web.handler import _Handler

log = logging.getLogger("sisyphus.http")


class ConsoleServer:
    """The running console: ``url``, ``port``, ``console``; ``shutdown()`` stops it."""

    def __init__(self, console: Console, port: int, host: str):
        handler = type("Handler", (_Handler,), {"console": console})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.loopback = host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
        self.console = console
        self.host, self.port = host, self.httpd.server_address[1]
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sis-http", daemon=True)
        self._thread.start()

    def serve_until_interrupted(self, poll: float = 0.5) -> None:
        """After the manager has found every target finished: say so in the console, print its URL and
        keep serving (read-only) until SIGINT or SIGTERM; then return (the caller shuts down)."""
        self.console.manager_finished()
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():  # signals only reach the main thread
            def on_signal(signum, frame):
                stop.set()

            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, on_signal)
        # printed once the handlers are in place: a Ctrl-C right after it is a clean stop
        print(f"Console: {self.url} (serving until interrupted, Ctrl-C to stop)", flush=True)
        try:
            while not stop.wait(poll):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def shutdown(self) -> None:
        self.console.manager_stopped()
        self.httpd.shutdown()
        self.httpd.server_close()


def start_http_server(manager, port: int, host: str = "127.0.0.1", actions: bool = False) -> ConsoleServer:
    """Serve the console of ``manager`` in a daemon thread; hooks into ``manager.on_update``."""
    console = Console(manager, actions=actions)
    previous = manager.on_update

    def on_update(m):
        if previous is not None:
            previous(m)
        try:
            console.on_manager_update(m)
        except Exception:  # the console must never stop the manager
            log.exception("web console: failed to take a snapshot")

    manager.on_update = on_update
    server = ConsoleServer(console, port, host)
    if not server.httpd.loopback:
        print(f"sis: WARNING: the web console listens on {host}: anyone who can reach this machine can read job "
              f"arguments and logs{' and run actions' if actions else ''} (no authentication)", flush=True)
    print(f"sis: web console at {server.url}{' (actions enabled)' if actions else ''}", flush=True)
    return server
