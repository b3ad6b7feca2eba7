"""The engine tests' harness (real SDK over HTTP against the embedded simulator), and run.json checks."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from tests.engine.conftest import harness_factory  # noqa: F401  (the fixture, shared)


def run_schema() -> dict[str, Any]:
    return json.loads(resources.files("engine").joinpath("data/run.schema.json").read_text(encoding="utf-8"))


def valid_record(run_dir: Path) -> dict[str, Any]:
    """run.json of a run folder, checked against the published schema."""
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(run_schema()).validate(record)
    return record
