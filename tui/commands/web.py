"""`--web`: the dashboard served to a browser with textual-serve, instead of drawn in this terminal.

textual-serve starts the same command (without `--web`) for each browser page that connects, with a
Textual web driver: so every page gets its own run (or replay) of the dashboard, exactly as a terminal
would. It listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from engine.results import EXIT_SUCCEEDED, EXIT_USAGE

WEB_OPTIONS_WITH_VALUE = ("--web-host", "--web-port")


def dashboard_wanted(args: Any) -> bool:
    """The dashboard, not the console: in a terminal, or under textual-serve (which sets the driver)."""
    if getattr(args, "no_tui", False):
        return False
    return sys.stdout.isatty() or "TEXTUAL_DRIVER" in os.environ


def without_web_options(argv: Sequence[str]) -> list[str]:
    """The command line as the browser's process runs it: no `--web`, `--web-host`, `--web-port`."""
    kept: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--web" or token.startswith(tuple(f"{o}=" for o in WEB_OPTIONS_WITH_VALUE)):
            continue
        elif token in WEB_OPTIONS_WITH_VALUE:
            skip = True
        else:
            kept.append(token)
    return kept


def serve(args: Any) -> int:
    """Serve the dashboard of this command line until Ctrl+C; prints the URL to open."""
    try:
        from textual_serve.server import Server
    except ImportError:
        print("pipeline: --web needs textual-serve (pip install textual-serve)", file=sys.stderr)
        return EXIT_USAGE
    command = shlex.join([sys.executable, "-m", "tui.cli", *without_web_options(args.argv)])
    server = Server(command, host=args.web_host, port=args.web_port, title="pipeline")
    print(f"pipeline: the dashboard is served at {server.public_url} (Ctrl+C stops)", flush=True)
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the host is not this machine's
        where = f"{args.web_host}:{args.web_port}"
        print(f"pipeline: cannot serve on {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_SUCCEEDED
