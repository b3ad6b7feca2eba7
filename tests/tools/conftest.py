"""A workspace with a directory next to it that no tool may reach, and tool boxes bound to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tools import TOOL_NAMES, ToolBox


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A sibling of the workspace holding a secret, the target of every escape attempt."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.txt").write_text("top secret\n")
    return directory


@pytest.fixture
def box(workspace: Path) -> ToolBox:
    return ToolBox(workspace, TOOL_NAMES, bash_timeout_s=5.0)
