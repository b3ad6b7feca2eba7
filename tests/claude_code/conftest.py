"""The real Claude Code CLI (from the `claude-code` extra) run by the engine against the simulator.

Skipped, with the reason, where claude-agent-sdk or its bundled CLI is missing. Each test gets its
own Claude Code config folder and HOME, so nothing is read from or written to the user's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

sdk = pytest.importorskip(
    "claude_agent_sdk", reason="claude-agent-sdk is not installed: pip install -e '.[claude-code]'"
)

from tests.engine.conftest import Harness, harness_factory, workflow  # noqa: E402

__all__ = ["Harness", "harness_factory", "workflow"]


def _bundled_cli() -> Path | None:
    bundled = Path(sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


if _bundled_cli() is None:
    pytest.skip("the Claude Code CLI is not bundled with claude-agent-sdk here", allow_module_level=True)


@pytest.fixture(autouse=True)
def claude_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    return home
