"""`pipeline validate`, `pipeline schema` and `pipeline list`: workflow files checked, described and listed
without running anything (and without importing textual, so they start fast).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from engine.workflow import LoadResult, load_workflow
from engine.workflow.model import workflow_json_schema
from tui.cli import EXIT_OK, EXIT_USAGE, vars_from_args


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
    return EXIT_OK if all_ok else EXIT_USAGE


def schema_main(args: argparse.Namespace) -> int:
    print(json.dumps(workflow_json_schema(), indent=2))
    return EXIT_OK


def _row(path: Path, result: LoadResult, folder: Path) -> list[str]:
    file = str(path.relative_to(folder))
    workflow = result.workflow
    if workflow is None:
        return [file, "-", "-", "-", _plural(len(result.errors), "error"), result.errors[0].message]
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


def list_main(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"{folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        print(f"{folder}: no workflow files (*.yaml, *.yml)")
        return EXIT_OK
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
    return EXIT_OK
