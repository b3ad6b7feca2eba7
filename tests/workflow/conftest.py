"""Helpers for workflow tests: write a file, load it, look at its diagnostics."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.workflow import LoadResult, load_workflow

REPO = Path(__file__).resolve().parents[2]
SHARED_EXAMPLES = REPO.parent / "shared" / "seeds" / "pipeline_ex"


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., LoadResult]:
    """Write YAML text (dedented) or bytes to a file and load it."""

    def write_and_load(content: str | bytes, name: str = "flow.yaml", **kwargs: object) -> LoadResult:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        else:
            path.write_bytes(content)
        return load_workflow(path, **kwargs)  # type: ignore[arg-type]

    return write_and_load
