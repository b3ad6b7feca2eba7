"""ToolBox: which tools a step gets, their definitions, input validation and the output cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.tools import TOOL_NAMES, ToolBox


def test_workspace_is_created(tmp_path: Path) -> None:
    workspace = tmp_path / "a" / "b"
    ToolBox(workspace, ["Read"])
    assert workspace.is_dir()


def test_names_are_allowed_minus_disallowed_in_canonical_order(workspace: Path) -> None:
    box = ToolBox(workspace, ["Bash", "Read", "Grep", "Write"], disallowed=["Write"])
    assert box.names == ("Read", "Grep", "Bash")
    assert [d["name"] for d in box.definitions()] == ["Read", "Grep", "Bash"]


def test_unknown_tool_names_are_a_configuration_error(workspace: Path) -> None:
    with pytest.raises(ValueError, match="WebFetch"):
        ToolBox(workspace, ["Read", "WebFetch"])


def test_definitions_are_valid_messages_api_tools(box: ToolBox) -> None:
    definitions = box.definitions()
    assert [d["name"] for d in definitions] == list(TOOL_NAMES)
    for definition in definitions:
        assert set(definition) == {"name", "description", "input_schema"}
        assert len(definition["description"]) > 80
        schema = definition["input_schema"]
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object"
        assert all(prop.get("description") for prop in schema["properties"].values())
    required = {d["name"]: d["input_schema"].get("required", []) for d in definitions}
    assert required == {
        "Read": ["file_path"],
        "Write": ["file_path", "content"],
        "Edit": ["file_path", "old_string", "new_string"],
        "Glob": ["pattern"],
        "Grep": ["pattern"],
        "LS": [],
        "Bash": ["command"],
    }


async def test_a_tool_not_allowed_is_refused(workspace: Path) -> None:
    box = ToolBox(workspace, ["Read", "Write"], disallowed=["Write"])
    outcome = await box.run("Write", {"file_path": "a.txt", "content": "x"})
    assert outcome.is_error and outcome.refused
    assert "'Write' is not allowed" in outcome.output
    assert not (workspace / "a.txt").exists()


async def test_an_unknown_tool_is_refused(box: ToolBox) -> None:
    outcome = await box.run("WebFetch", {"url": "http://example.com"})
    assert outcome.is_error and outcome.refused
    assert "'WebFetch' does not exist" in outcome.output


@pytest.mark.parametrize(
    ("name", "tool_input", "field"),
    [
        ("Read", {}, "file_path"),
        ("Read", {"file_path": 7}, "file_path"),
        ("Read", {"file_path": "a.txt", "offset": "3"}, "offset"),
        ("Read", {"file_path": "a.txt", "limit": 0}, "limit"),
        ("Write", {"file_path": "a.txt"}, "content"),
        ("Edit", {"file_path": "a", "old_string": "a", "new_string": "b", "replace_all": 1}, "replace_all"),
        ("Glob", {"pattern": ["*.py"]}, "pattern"),
        ("Grep", {"pattern": "x", "ignore_case": 1}, "ignore_case"),
        ("LS", {"dir": "."}, "dir"),
        ("Bash", {"command": "true", "timeout_s": -1}, "timeout_s"),
    ],
)
async def test_mistyped_input_is_an_error_naming_the_field(
    box: ToolBox, name: str, tool_input: dict[str, object], field: str
) -> None:
    outcome = await box.run(name, tool_input)
    assert outcome.is_error and not outcome.refused
    assert outcome.output.startswith(f"error: invalid input for {name}:")
    assert field in outcome.output


async def test_input_that_is_not_an_object_is_an_error(box: ToolBox) -> None:
    outcome = await box.run("Read", "a.txt")  # type: ignore[arg-type]
    assert outcome.is_error and "is not of type 'object'" in outcome.output


async def test_outputs_are_capped_with_a_note(workspace: Path) -> None:
    box = ToolBox(workspace, ["Write", "Glob"], output_cap_bytes=2000)
    for index in range(300):
        await box.run("Write", {"file_path": f"d/file_{index:03}.txt", "content": ""})
    outcome = await box.run("Glob", {"pattern": "d/*.txt"})
    assert not outcome.is_error
    assert len(outcome.output.encode()) <= 2000
    assert outcome.output.splitlines()[0] == "d/file_000.txt"
    assert "output cap reached" in outcome.output.splitlines()[-1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads through file permissions")
async def test_a_permission_error_comes_back_as_an_error_result(box: ToolBox, workspace: Path) -> None:
    locked = workspace / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("x\n")
    locked.chmod(0)
    try:
        outcome = await box.run("Read", {"file_path": "locked/a.txt"})
    finally:
        locked.chmod(0o755)
    assert outcome.is_error and not outcome.refused
    assert "Permission denied" in outcome.output and "locked/a.txt" in outcome.output


async def test_filesystem_errors_come_back_as_error_results(box: ToolBox, workspace: Path) -> None:
    # Errors the OS raises for root too, so this holds whoever runs the suite.
    (workspace / "a.txt").write_text("x\n")
    too_long = "n" * 300 + ".txt"
    for tool, tool_input in (
        ("Read", {"file_path": too_long}),
        ("Write", {"file_path": too_long, "content": "y"}),
    ):
        outcome = await box.run(tool, tool_input)
        assert outcome.is_error and not outcome.refused, tool
        assert outcome.output.startswith("error: File name too long: 'nnn"), tool
    under_a_file = await box.run("Write", {"file_path": "a.txt/b.txt", "content": "y"})
    assert under_a_file.is_error and not under_a_file.refused and "'a.txt'" in under_a_file.output
    assert (workspace / "a.txt").read_text() == "x\n"


def test_the_workflow_format_and_the_toolbox_know_the_same_tools():
    from typing import get_args

    from engine.tools import TOOL_NAMES
    from engine.workflow.model import ToolName

    assert set(get_args(ToolName)) == set(TOOL_NAMES)
