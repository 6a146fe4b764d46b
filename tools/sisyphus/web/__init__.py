"""The web console of a running manager (``sis manager CONFIG --http PORT``).

Pages: ``/`` registered outputs and state counts, ``/jobs`` every job in topological order,
``/job/<id>`` one job (arguments, inputs, outputs, variables, ``info()``, requirements, per-task
state, head and tail of each log), ``/graph`` the job graph as SVG (graphviz ``dot``; grouped by
module, or ``?view=modules`` / ``?job=<id>`` for large graphs), ``/file/<path>`` files below the
setup's work/output/alias dirs (never outside: paths are resolved, symlinks included).
Pages poll ``/api/version`` and swap in fresh content when the graph's state changes. On ``/``,
registered outputs that are images (png, jpg, gif, webp, svg) are shown inline and Markdown outputs
(``.md``) rendered by ``markdown_lite`` (all HTML from the file escaped), each in a collapsible box.

Once every target is finished the manager loop ends, but with ``--http`` the process keeps serving
the (now read-only) console until SIGINT/SIGTERM and then exits 0 (``ConsoleServer.serve_until_interrupted``).

The HTTP thread only reads: the manager thread publishes a snapshot of jobs and states after every
check (the ``on_update`` hook). Actions (``--http-actions``: clear a job in error, rerun a job and
its descendants) need a confirmation page with a one-time token and a POST; they are queued and run
by the manager thread between two checks, and logged (``<work>/.console_actions.log``).

Modules: ``server`` (start/stop, manager hook), ``console`` (shared state, actions, file sandbox),
``snapshot`` (the state model), ``handler`` (HTTP plumbing, routing, POST), ``pages`` (HTML pages),
``graph_dot`` (graphviz rendering), ``markdown_lite`` (safe Markdown previews), ``util`` (small helpers).
Static files live in ``sisyphus/templates/``.
"""
from sisyphus.web.console import Console
from sisyphus.web.server import ConsoleServer, start_http_server

__all__ = ["start_http_server", "ConsoleServer", "Console"]
