"""Prompt `file` parts and the assembled prompt: only regular files, size caps, read off the event loop,
found beside the workflow file by validate and run alike. Through `pipeline validate` and `pipeline run`.

Exit codes: a path written in the file is checked by validate, so a FIFO, a device, a folder, a socket
or an oversized file is an invalid workflow (exit 2, nothing runs). A path that is a template
(`{{vars.f}}`) is only known at run time: the step fails with the reason in run.json (exit 1).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.cli_support import error_line, last_run, run, validate
from tests.engine.conftest import workflow

KINDS = ["fifo", "device", "directory", "socket", "oversized"]
PROBLEM = {
    "fifo": "is a FIFO (named pipe), not a regular file",
    "device": "is a device, not a regular file",
    "directory": "is a directory, not a regular file",
    "socket": "is a socket, not a regular file",
    "oversized": "prompt files are limited to 10 MiB",
}


@pytest.fixture
def special(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """One file of each kind that must not be read as a prompt."""
    (tmp_path / "fifo").unlink(missing_ok=True)
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would wait for a writer for ever
    (tmp_path / "folder").mkdir()
    with open(tmp_path / "big.txt", "wb") as big:
        big.truncate(11 * 1024 * 1024)
    short = Path(tempfile.mkdtemp(prefix="sock", dir="/tmp"))  # AF_UNIX paths are limited to 108 bytes
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(short / "s"))
    try:
        yield {
            "fifo": tmp_path / "fifo",
            "device": Path("/dev/zero"),
            "directory": tmp_path / "folder",
            "socket": short / "s",
            "oversized": tmp_path / "big.txt",
        }
    finally:
        server.close()
        (short / "s").unlink()
        short.rmdir()


def file_step(path: str) -> str:
    return f"""
    - name: a
      type: claude
      prompt:
        - "Summarise this:"
        - {{type: file, path: "{path}"}}
    """


@pytest.mark.parametrize("kind", KINDS)
def test_a_named_special_file_is_an_invalid_workflow(tmp_path, special, kind):
    flow = tmp_path / "w.yaml"
    flow.write_text(workflow(file_step(str(special[kind])), tmp=tmp_path), encoding="utf-8")
    for done in (validate(tmp_path, flow), run(tmp_path, flow)):
        assert done.returncode == 2, done.stdout + done.stderr
        line = error_line(done)
        assert str(special[kind]) in line and PROBLEM[kind] in line, line
    assert not (tmp_path / "outputs").exists()  # nothing ran


@pytest.mark.parametrize("kind", KINDS)
def test_a_templated_path_to_a_special_file_fails_its_step_promptly(tmp_path, special, kind):
    flow = tmp_path / "w.yaml"
    text = workflow(file_step("{{vars.f}}"), tmp=tmp_path, extra=f"vars: {{f: '{special[kind]}'}}\n")
    flow.write_text(text, encoding="utf-8")
    done = run(tmp_path, flow)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    step = last_run(tmp_path / "outputs")["steps"]["a"]
    assert step["status"] == "failed"
    assert str(special[kind]) in step["error"] and PROBLEM[kind] in step["error"], step["error"]


def test_a_relative_path_is_read_from_the_workflow_folder_by_validate_and_run(tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "notes.md").write_text("The notes beside the workflow.", encoding="utf-8")
    flow = folder / "w.yaml"
    flow.write_text(workflow(file_step("notes.md"), tmp=tmp_path), encoding="utf-8")
    checked = validate(tmp_path, flow)  # started from tmp_path, where there is no notes.md
    assert checked.returncode == 0 and "warning" not in checked.stdout, checked.stdout
    done = run(tmp_path, flow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_run(tmp_path / "outputs")["steps"]["a"]["status"] == "succeeded"


def test_a_file_only_in_the_current_folder_is_not_found_by_either(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "notes.md").write_text("In the current folder.", encoding="utf-8")
    flow = tmp_path / "flows" / "w.yaml"
    flow.write_text(workflow(file_step("notes.md"), tmp=tmp_path), encoding="utf-8")
    checked = validate(tmp_path, flow)
    assert checked.returncode == 0 and "does not exist" in checked.stdout, checked.stdout
    assert run(tmp_path, flow).returncode == 1
    assert "notes.md" in last_run(tmp_path / "outputs")["steps"]["a"]["error"]


def test_a_prompt_that_expands_past_the_cap_fails_while_it_is_assembled(tmp_path):
    # 120 uses of a 200 kB var: 24 MB, past the 20 MiB cap (thousands would be gigabytes).
    flow = tmp_path / "w.yaml"
    prompt = " ".join(["{{vars.x}}"] * 120)
    steps = f"""
    - name: a
      type: claude
      prompt: "{prompt}"
    """
    flow.write_text(workflow(steps, tmp=tmp_path, extra=f"vars: {{x: {'y' * 200_000}}}\n"), encoding="utf-8")
    done = run(tmp_path, flow)
    assert done.returncode == 1, done.stdout + done.stderr
    error = last_run(tmp_path / "outputs")["steps"]["a"]["error"]
    assert "the prompt is larger than 20 MiB" in error, error
