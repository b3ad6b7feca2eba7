"""Every escape from the workspace is refused, for every file tool, and nothing outside is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.tools import ToolBox


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def escape_inputs(outside: Path) -> dict[str, list[dict[str, object]]]:
    """For each file tool, one call per escape route: '../', an absolute path outside, '~'."""
    routes = ["../outside/secret.txt", str(outside / "secret.txt"), "~/secret.txt"]
    dirs = ["../outside", str(outside), "~"]
    return {
        "Read": [{"file_path": r} for r in routes],
        "Write": [{"file_path": r, "content": "pwned"} for r in routes],
        "Edit": [{"file_path": r, "old_string": "top", "new_string": "pwned"} for r in routes],
        "Glob": [{"pattern": "*", "path": d} for d in dirs] + [{"pattern": d + "/*"} for d in dirs],
        "Grep": [{"pattern": "secret", "path": d} for d in dirs],
        "LS": [{"path": d} for d in dirs],
    }


@pytest.mark.parametrize("name", ["Read", "Write", "Edit", "Glob", "Grep", "LS"])
async def test_paths_outside_the_workspace_are_refused(box: ToolBox, outside: Path, name: str) -> None:
    before = snapshot(outside)
    for tool_input in escape_inputs(outside)[name]:
        outcome = await box.run(name, tool_input)
        assert outcome.is_error and outcome.refused, (tool_input, outcome)
        assert outcome.output.startswith("refused: "), outcome.output
        assert "outside the workspace" in outcome.output
        assert "top secret" not in outcome.output
    assert snapshot(outside) == before


async def test_the_refusal_names_the_path(box: ToolBox) -> None:
    outcome = await box.run("Read", {"file_path": "../etc/passwd"})
    assert outcome.output == "refused: path '../etc/passwd' is outside the workspace"


async def test_dotdot_that_stays_inside_is_fine(box: ToolBox, workspace: Path) -> None:
    (workspace / "a").mkdir()
    (workspace / "b.txt").write_text("inside\n")
    outcome = await box.run("Read", {"file_path": "a/../b.txt"})
    assert not outcome.is_error and "inside" in outcome.output


async def test_an_absolute_path_inside_the_workspace_is_fine(box: ToolBox, workspace: Path) -> None:
    outcome = await box.run("Write", {"file_path": str(workspace / "abs.txt"), "content": "ok"})
    assert not outcome.is_error
    assert (workspace / "abs.txt").read_text() == "ok"


@pytest.fixture
def links(workspace: Path, outside: Path) -> Path:
    """A directory link and a file link pointing out, and a dangling link to a file not yet there."""
    workspace.mkdir(exist_ok=True)
    (workspace / "out").symlink_to(outside, target_is_directory=True)
    (workspace / "secret_link.txt").symlink_to(outside / "secret.txt")
    (workspace / "dangling.txt").symlink_to(outside / "created.txt")
    return workspace


SYMLINK_ESCAPES = [
    ("Read", {"file_path": "out/secret.txt"}),
    ("Read", {"file_path": "secret_link.txt"}),
    ("Write", {"file_path": "out/new.txt", "content": "pwned"}),
    ("Write", {"file_path": "out/sub/new.txt", "content": "pwned"}),
    ("Write", {"file_path": "secret_link.txt", "content": "pwned"}),
    ("Write", {"file_path": "dangling.txt", "content": "pwned"}),
    ("Edit", {"file_path": "secret_link.txt", "old_string": "top", "new_string": "pwned"}),
    ("Edit", {"file_path": "out/secret.txt", "old_string": "top", "new_string": "pwned"}),
    ("Glob", {"pattern": "out/*"}),
    ("Glob", {"pattern": "*", "path": "out"}),
    ("Grep", {"pattern": "secret", "path": "out"}),
    ("Grep", {"pattern": "secret", "path": "secret_link.txt"}),
    ("LS", {"path": "out"}),
]


@pytest.mark.parametrize(("name", "tool_input"), SYMLINK_ESCAPES, ids=lambda v: str(v))
async def test_symlinks_pointing_out_are_refused(
    box: ToolBox, links: Path, outside: Path, name: str, tool_input: dict[str, object]
) -> None:
    before = snapshot(outside)
    outcome = await box.run(name, tool_input)
    assert outcome.is_error and outcome.refused, outcome
    assert "top secret" not in outcome.output
    assert snapshot(outside) == before
    assert not (outside / "created.txt").exists()


async def test_walks_never_follow_a_link_out(box: ToolBox, links: Path) -> None:
    (links / "mine.txt").write_text("not a secret\n")
    everything = await box.run("Glob", {"pattern": "**/*"})
    assert everything.output.splitlines() == ["mine.txt"]
    found = await box.run("Grep", {"pattern": "secret"})
    assert found.output == "mine.txt:1: not a secret"
    listing = await box.run("LS", {})
    assert listing.output.splitlines() == [
        "dangling.txt@ (a link to outside the workspace)",
        "mine.txt",
        "out@ (a link to outside the workspace)",
        "secret_link.txt@ (a link to outside the workspace)",
    ]


async def test_links_that_stay_inside_work(box: ToolBox, workspace: Path) -> None:
    (workspace / "real").mkdir(parents=True)
    (workspace / "real" / "a.txt").write_text("hello\n")
    os.symlink("real", workspace / "alias")
    read = await box.run("Read", {"file_path": "alias/a.txt"})
    assert read.output == "     1\thello"
    listing = await box.run("LS", {})
    assert listing.output.splitlines() == ["alias/", "real/"]


async def test_a_tilde_path_is_refused_even_if_home_is_inside(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(workspace))
    box = ToolBox(workspace, ["Write"])
    outcome = await box.run("Write", {"file_path": "~/x.txt", "content": "x"})
    assert outcome.refused
    assert not (workspace / "x.txt").exists() and not (workspace / "~").exists()


@pytest.fixture
def hard_link(workspace: Path, outside: Path) -> Path:
    """A second name, inside the workspace, for the secret file outside it."""
    workspace.mkdir(exist_ok=True)
    os.link(outside / "secret.txt", workspace / "linked.txt")
    return workspace / "linked.txt"


HARD_LINK_CALLS = [
    ("Read", {"file_path": "linked.txt"}),
    ("Write", {"file_path": "linked.txt", "content": "pwned"}),
    ("Edit", {"file_path": "linked.txt", "old_string": "top", "new_string": "pwned"}),
    ("Grep", {"pattern": "secret", "path": "linked.txt"}),
]


@pytest.mark.parametrize(("name", "tool_input"), HARD_LINK_CALLS, ids=lambda v: str(v))
async def test_hard_linked_files_are_refused(
    box: ToolBox, hard_link: Path, outside: Path, name: str, tool_input: dict[str, object]
) -> None:
    before = snapshot(outside)
    outcome = await box.run(name, tool_input)
    assert outcome.is_error and outcome.refused, outcome
    assert outcome.output == (
        "refused: 'linked.txt' has 2 hard links, and a hard link can point outside the workspace, "
        "so it is neither read nor changed"
    )
    assert snapshot(outside) == before
    assert hard_link.read_text() == "top secret\n"


async def test_walks_skip_hard_linked_files(box: ToolBox, hard_link: Path) -> None:
    (hard_link.parent / "mine.txt").write_text("not a secret\n")
    found = await box.run("Grep", {"pattern": "secret"})
    assert found.output.splitlines() == [
        "mine.txt:1: not a secret",
        "[skipped 1 hard-linked files (a hard link can point outside the workspace): linked.txt]",
    ]
    assert "top secret" not in found.output
