"""A workspace with a directory next to it that no tool may reach, tool boxes bound to it, and what the
Bash tests share: both sandbox modes, and process markers to prove that nothing a call started is left."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

import pytest

from engine.tools import TOOL_NAMES, BashSandbox, ToolBox
from tests.engine.conftest import harness_factory  # noqa: F401  (the tool loop, for tests here)

HAS_BWRAP = shutil.which("bwrap") is not None
NO_BWRAP = "bubblewrap is not installed (apt-get install bubblewrap); the sandboxed Bash cannot run"
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason=NO_BWRAP)


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


@pytest.fixture(params=["sandboxed", "unsandboxed"])
def bash_sandbox(request: pytest.FixtureRequest) -> BashSandbox:
    """Each Bash guarantee both ways: in bubblewrap (the default) and with `sandbox: off`."""
    if request.param == "sandboxed" and not HAS_BWRAP:
        pytest.skip(NO_BWRAP)
    return BashSandbox(enabled=request.param == "sandboxed")


def marker() -> str:
    """A `sleep` duration no other process on the machine has in its command line."""
    return f"3000.{secrets.randbelow(10**9):09d}"


def processes_with(mark: str) -> list[int]:
    """Live processes whose command line holds `mark` (a zombie's command line is empty)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if mark.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # ended while we looked
    return found


async def none_left(mark: str) -> bool:
    """Whether every process with `mark` is gone within 2 s (killing takes the kernel a moment)."""
    for _ in range(100):
        if not processes_with(mark):
            return True
        await asyncio.sleep(0.02)
    return False


async def wait_for(path: Path) -> None:
    for _ in range(250):
        if path.exists():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never appeared")
