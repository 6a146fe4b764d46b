"""Command line: ``sis manager|m CONFIG [-r]``, ``sis console|c CONFIG``, ``sis worker JOBDIR TASK [ID]``."""
import argparse
import logging
import os
import sys


def _load_settings():
    from sisyphus import global_settings as gs

    gs.load_settings(os.environ.get("SIS_BASE_DIR") or os.getcwd())
    return gs


def cmd_manager(args) -> int:
    gs = _load_settings()
    from sisyphus.loader import ConfigError, load_config
    from sisyphus.lock import ManagerLockError, acquire_manager_lock
    from sisyphus.manager import Manager

    try:
        lock = acquire_manager_lock(gs.BASE_DIR)
    except ManagerLockError as e:
        print(f"sis: {e}", file=sys.stderr)
        return 3
    try:
        load_config(args.config)
    except ConfigError as e:
        print(f"sis: {e}", file=sys.stderr)
        if e.__cause__ is not None and args.verbose:
            import traceback

            traceback.print_exception(e.__cause__)
        return 2
    except Exception as e:  # e.g. a job argument that cannot be hashed
        print(f"sis: failed to build the graph of {args.config}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    manager = Manager(gs.engine(), ask=not args.run, clear_errors_once=args.clear_errors_once)
    server = None
    if args.http:
        from sisyphus.web import start_http_server

        try:
            server = start_http_server(manager, args.http, host=args.http_host, actions=args.http_actions)
        except OSError as e:  # e.g. the port is taken
            print(f"sis: cannot serve the web console on {args.http_host}:{args.http}: {e}", file=sys.stderr)
            lock.close()
            return 2
    try:
        rc = manager.run()
        if rc == 0 and server is not None:
            # the graph is finished: this is when the console is most useful, so keep it up
            server.serve_until_interrupted()
            print("sis: console stopped", flush=True)
        return rc
    except KeyboardInterrupt:
        print("sis: interrupted; running tasks continue and are found again by the next manager", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.shutdown()
        lock.close()


def cmd_console(args) -> int:
    gs = _load_settings()
    from sisyphus import toolkit as tk
    from sisyphus.loader import ConfigError, load_config

    try:
        load_config(args.config)
    except ConfigError as e:
        print(f"sis: {e}", file=sys.stderr)
        return 2
    namespace = {"tk": tk, "gs": gs, "graph": tk.sis_graph, "jobs": tk.sis_graph.jobs()}
    banner = f"sisyphus console: {len(namespace['jobs'])} jobs loaded from {args.config}; tk, gs, graph, jobs defined"
    if args.command:
        exec(args.command, namespace)
        return 0
    try:
        from IPython import start_ipython

        print(banner)
        start_ipython(argv=[], user_ns=namespace)
    except ImportError:
        import code

        code.interact(banner=banner, local=namespace)
    return 0


def cmd_worker(args) -> int:
    _load_settings()
    from sisyphus.loader import setup_import_paths
    from sisyphus.worker import run_worker

    setup_import_paths()
    return run_worker(args.job_dir, args.task, args.task_id, args.redirect_output)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="sis", description="Sisyphus-compatible workflow manager")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command_name", required=True)
    m = sub.add_parser("manager", aliases=["m"], help="run the graph of a config")
    m.add_argument("config")
    m.add_argument("-r", "--run", action="store_true", help="run without asking")
    m.add_argument("--clear-errors-once", action="store_true", help="clear jobs in error once, then rerun them")
    m.add_argument("--http", type=int, default=0,
                   help="serve the web console on this port (once all targets are finished it keeps serving "
                        "until interrupted)")
    m.add_argument("--http-host", default="127.0.0.1", help="interface of the web console (default 127.0.0.1)")
    m.add_argument("--http-actions", action="store_true", help="allow actions (clear error, rerun) in the web console")
    m.set_defaults(func=cmd_manager)
    c = sub.add_parser("console", aliases=["c"], help="interactive Python with tk and the loaded graph")
    c.add_argument("config")
    c.add_argument("-c", "--command", help="run this Python code instead of an interactive shell")
    c.set_defaults(func=cmd_console)
    w = sub.add_parser("worker", help="run one task of a job (used by engines)")
    w.add_argument("job_dir")
    w.add_argument("task")
    w.add_argument("task_id", nargs="?", type=int, default=None)
    w.add_argument("--redirect_output", action="store_true")
    w.set_defaults(func=cmd_worker)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="[%(asctime)s] %(levelname)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
