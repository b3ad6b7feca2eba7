"""The `pipeline` command line: parses arguments and hands off to one subcommand module.

Subcommand modules are imported lazily so `pipeline validate` and `pipeline --version` stay fast
and never import textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="A workflow runner for Claude with true token streaming and a live terminal dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"pipeline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    simulate = sub.add_parser(
        "simulate", help="serve the Messages-API simulator on 127.0.0.1 until Ctrl+C"
    )
    simulate.add_argument("--port", type=int, default=0, help="port to listen on (default: a free port)")
    simulate.add_argument("--scenario", metavar="FILE", help="YAML fault script / pacing scenario")
    simulate.add_argument("--ttft-ms", type=float, default=None, help="time to first token, in ms")
    simulate.add_argument(
        "--tokens-per-second", type=float, default=None, help="streaming pace; 0 = as fast as possible"
    )
    simulate.add_argument(
        "--demo", action="store_true", help="also stream a demo request to this terminal, then exit"
    )
    simulate.set_defaults(handler="tui.commands.simulate:main")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    module_name, func_name = args.handler.split(":")
    handler = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
