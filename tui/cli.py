"""The `pipeline` command line: parses arguments and hands off to one subcommand module.

Subcommand modules are imported lazily so `pipeline validate` and `pipeline --version` stay fast
and never import textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine import __version__
from engine.results import EXIT_FAILED, EXIT_GUARD, EXIT_INTERRUPTED, EXIT_SUCCEEDED, EXIT_USAGE


def parse_var(text: str) -> tuple[str, str]:
    """`NAME=VALUE` from the command line (the value may be empty or hold `=`)."""
    name, separator, value = text.partition("=")
    if not separator or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME a plain name, got '{text}'")
    return name, value


def add_var_argument(parser: argparse.ArgumentParser) -> None:
    """`--var NAME=VALUE`, repeatable; the values win over `workflow.vars`."""
    parser.add_argument(
        "--var",
        dest="vars",
        metavar="NAME=VALUE",
        action="append",
        type=parse_var,
        default=[],
        help="value of {{vars.NAME}}; repeatable; wins over workflow.vars",
    )


def vars_from_args(args: argparse.Namespace) -> dict[str, str]:
    """The `--var` values as a mapping (the last one given for a name wins)."""
    return dict(getattr(args, "vars", None) or [])


EXIT_CODES_HELP = f"""exit codes:
  {EXIT_SUCCEEDED}    the run succeeded
  {EXIT_FAILED}    a step failed
  {EXIT_USAGE}    the workflow (or the command line) is invalid: nothing ran
  {EXIT_GUARD}    a guard (stop_on, timeout, idle timeout, budget) stopped the run
  {EXIT_INTERRUPTED}  the user stopped the run (Ctrl+C once stops cleanly, twice at once; SIGTERM)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="A workflow runner for Claude with true token streaming and a live terminal dashboard.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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

    validate = sub.add_parser("validate", help="check workflow files without running them (exit 2 on errors)")
    validate.add_argument("files", nargs="+", metavar="FILE", help="workflow YAML files")
    add_var_argument(validate)
    validate.set_defaults(handler="tui.commands.validate:validate_main")

    schema = sub.add_parser("schema", help="print the JSON Schema of workflow files (for editor completion)")
    schema.set_defaults(handler="tui.commands.validate:schema_main")

    list_ = sub.add_parser("list", help="list the workflows in a folder: name, steps, types, description")
    list_.add_argument("dir", nargs="?", default="workflows", metavar="DIR", help="default: ./workflows")
    list_.set_defaults(handler="tui.commands.validate:list_main")

    run = sub.add_parser("run", help="run a workflow (dashboard in a terminal, console otherwise)")
    run.add_argument("file", help="the workflow YAML file")
    run.add_argument("--resume", metavar="RUN",
                     help="reuse RUN's results of steps that succeeded with unchanged inputs; run the rest")
    add_run_options(run)
    run.set_defaults(handler="tui.commands.run:main")

    resume = sub.add_parser("resume", help="run a stopped or failed run again, reusing what succeeded")
    resume.add_argument("resume", metavar="RUN", help="run id, unique prefix or run folder")
    resume.add_argument("--file", help="the workflow file (default: the one the run recorded)")
    add_run_options(resume)
    resume.set_defaults(handler="tui.commands.run:resume_main")

    runs = sub.add_parser("runs", help="list past runs in an output folder, newest first")
    runs.add_argument("--output-dir", metavar="DIR", help="default: ./outputs")
    runs.add_argument("-n", "--limit", type=int, default=0, metavar="N", help="only the N newest")
    runs.set_defaults(handler="tui.commands.runs:runs_main")

    show = sub.add_parser("show", help="a past run's summary, or one step's text or data")
    show.add_argument("run", metavar="RUN", help="run id, unique prefix or run folder")
    show.add_argument("step", nargs="?", metavar="STEP", help="print this step's (or task's) answer")
    show.add_argument("--output-dir", metavar="DIR", help="default: ./outputs")
    what = show.add_mutually_exclusive_group()
    what.add_argument("--data", action="store_true", help="the step's parsed data, as JSON")
    what.add_argument("--text", action="store_true", help="the step's text (default unless claude_extract)")
    show.set_defaults(handler="tui.commands.runs:show_main")

    replay = sub.add_parser("replay", help="play a recorded run again, with its timing; no API calls")
    replay.add_argument("run", metavar="RUN", help="run id, unique prefix or run folder")
    replay.add_argument("--output-dir", metavar="DIR", help="default: ./outputs")
    replay.add_argument("--speed", type=positive_float, default=1.0, metavar="N", help="N times faster")
    replay.add_argument("--no-tui", action="store_true", help="console output instead of the dashboard")
    replay.add_argument("--exit-when-done", action="store_true", help="dashboard: close when it ends")
    replay.add_argument("--theme", choices=("dark", "light"), default=None, help="dashboard theme")
    add_web_options(replay)
    replay.set_defaults(handler="tui.commands.replay:main")
    return parser


def add_web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web", action="store_true",
                        help="serve the dashboard to a browser (textual-serve) instead of this terminal")
    parser.add_argument("--web-host", default="127.0.0.1", metavar="HOST", help="--web: default 127.0.0.1")
    parser.add_argument("--web-port", type=int, default=8000, metavar="PORT", help="--web: default 8000")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got '{text}'")
    return value


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The options of `pipeline run`, shared by `pipeline resume`."""
    add_web_options(run)
    run.add_argument("--no-tui", action="store_true", help="console output instead of the dashboard")
    run.add_argument("--dry-run", action="store_true",
                     help="print each step's requests, estimated input tokens and cost (Messages API and "
                          "Message Batches), then exit without calling anything")
    run.add_argument("--provider", choices=("auto", "anthropic", "simulator"), default="auto",
                     help="auto: the real API when ANTHROPIC_API_KEY is set, else the simulator")
    add_var_argument(run)
    run.add_argument("--output-dir", metavar="DIR", help="where run records go (default: the workflow's)")
    run.add_argument("--scenario", metavar="FILE",
                     help="simulator scenario (default: scenarios/NAME.yaml beside the workflow, if any)")
    run.add_argument("--exit-when-done", action="store_true",
                     help="dashboard: close as soon as the run ends (demos, scripts)")
    run.add_argument("--stop-on-error", action="store_true",
                     help="dashboard: interrupt everything the moment a step fails (key e toggles it)")
    run.add_argument("--theme", choices=("dark", "light"), default=None,
                     help="dashboard theme (default: $PIPELINE_THEME, else dark)")
    run.add_argument("--ttft-ms", type=float, default=None,
                     help="simulator only: time to first token (default: the scenario's, else 300)")
    run.add_argument("--tokens-per-second", type=float, default=None,
                     help="simulator only: pace, 0 = as fast as possible (default: the scenario's, else 80)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `--web` runs the same command per page
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
