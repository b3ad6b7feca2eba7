"""`pipeline validate`, `pipeline schema` and `pipeline list`: workflow files checked, described and listed
without running anything (and without importing textual, so they start fast).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from engine.results import EXIT_SUCCEEDED, EXIT_USAGE
from engine.workflow import LoadResult, load_workflow, workflow_files
from engine.workflow.model import workflow_json_schema
from engine.workflow.yaml_source import SourceError, read_yaml
from tui.cli import vars_from_args

Command = Callable[[argparse.Namespace], int]


def _quiet_when_reader_leaves(command: Command) -> Command:
    """`pipeline schema | head` closes the pipe early: stop quietly instead of with a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            status = command(args)
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_SUCCEEDED
        return status

    return run


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@_quiet_when_reader_leaves
def validate_main(args: argparse.Namespace) -> int:
    cli_vars = vars_from_args(args)
    all_ok = True
    for file in args.files:
        result = load_workflow(file, vars=cli_vars)
        for diagnostic in sorted(result.errors + result.warnings):
            print(diagnostic)
        if result.errors:
            all_ok = False
            summary = _plural(len(result.errors), "error")
            if result.warnings:
                summary += ", " + _plural(len(result.warnings), "warning")
        else:
            summary = "ok" + (f", {_plural(len(result.warnings), 'warning')}" if result.warnings else "")
        print(f"{file}: {summary}")
    return EXIT_SUCCEEDED if all_ok else EXIT_USAGE


@_quiet_when_reader_leaves
def schema_main(args: argparse.Namespace) -> int:
    print(json.dumps(workflow_json_schema(), indent=2))
    return EXIT_SUCCEEDED


def _row(path: Path, result: LoadResult, folder: Path) -> list[str]:
    file = str(path.relative_to(folder))
    workflow = result.workflow
    if workflow is None:
        return [file, *_as_written(path), _plural(len(result.errors), "error"), result.errors[0].message]
    types = list(dict.fromkeys(step.type for step in workflow.steps))
    status = "ok" if not result.warnings else _plural(len(result.warnings), "warning")
    return [
        file,
        workflow.name,
        str(len(workflow.steps)),
        ", ".join(types),
        status,
        workflow.description or "",
    ]


def _as_written(path: Path) -> list[str]:
    """Name, step count and step types read straight from an invalid file, as far as they can be."""
    try:
        data = read_yaml(path).data
    except SourceError:
        return ["-", "-", "-"]
    workflow = data.get("workflow") if isinstance(data, dict) else None
    if not isinstance(workflow, dict):
        return ["-", "-", "-"]
    steps = workflow.get("steps") if isinstance(workflow.get("steps"), list) else []
    types = dict.fromkeys(str(step.get("type")) for step in steps if isinstance(step, dict))
    return [str(workflow.get("name", "-")), str(len(steps)), ", ".join(types)]


@_quiet_when_reader_leaves
def list_main(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"{folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    files = workflow_files(folder)
    if not files:
        print(f"{folder}: no workflow files (*.yaml, *.yml)")
        return EXIT_SUCCEEDED
    rows = [["FILE", "NAME", "STEPS", "TYPES", "STATUS", "DESCRIPTION"]]
    rows += [_row(path, load_workflow(path), folder) for path in files]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    # Only a terminal has a width to respect; piped output keeps whole descriptions.
    room = shutil.get_terminal_size().columns - sum(widths) - 2 * len(widths) if sys.stdout.isatty() else 0
    for row in rows:
        description = row[-1]
        if room and len(description) > max(room, 20):
            description = description[: max(room, 20) - 3] + "..."
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, description]).rstrip())
    return EXIT_SUCCEEDED
