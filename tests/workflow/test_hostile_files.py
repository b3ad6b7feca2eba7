"""Hostile or broken files: one clear located line each, no traceback, no hang, exit 2 from the CLI."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.workflow import load_workflow
from engine.workflow.yaml_source import MAX_FILE_BYTES

VALID = "workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi}\n"

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + level)}: &{chr(98 + level)} [" + ",".join([f"*{chr(97 + level)}"] * 9) + "]\n"
        for level in range(8)
    )
    + "workflow: {name: w, steps: *i}\n"
)

# (id, file content, line, column, part of the message)
HOSTILE = [
    ("empty", b"", 0, 0, "file is empty: expected a mapping with a 'workflow' key"),
    ("blank-lines", b"\n\n   \n", 0, 0, "file is empty"),
    ("only-comments", b"# nothing here\n", 0, 0, "file is empty"),
    ("not-yaml", b"workflow: [unclosed\n", 2, 1, "YAML syntax error"),
    ("top-level-list", b"- a\n- b\n", 1, 1,
     "expected a mapping with a 'workflow' key at the top, got a list"),
    ("top-level-scalar", b"just some words\n", 1, 1, "got 'just some words'"),
    ("tab-indent", b"workflow:\n\tname: w\n", 2, 1, "tab character: YAML indentation must use spaces"),
    ("duplicate-keys", b"workflow:\n  name: a\n  name: b\n", 3, 3, "duplicate key 'name' (first at line 2)"),
    (
        "duplicate-step-keys",
        b"workflow:\n  name: w\n  steps:\n    - name: a\n      type: claude\n      type: claude_smart\n",
        6, 7, "duplicate key 'type' (first at line 5); remove one",
    ),
    ("alias-bomb", BILLION_LAUGHS.encode(), 1, 50,
     "aliases expand to more than 100000 nodes (an alias bomb?)"),
    ("recursive-alias", b"workflow: &w {name: x, steps: [*w]}\n", 1, 11, "recursive alias"),
    ("binary", bytes(range(256)) * 4, 1, 1, "binary data, not YAML text (a NUL byte)"),
    ("utf16", codecs.BOM_UTF16_LE + VALID.encode("utf-16-le"), 0, 0, "file is UTF-16 text; save it as UTF-8"),
    ("latin1", "workflow:\n  name: caf\u00e9\n".encode("latin-1"), 2, 12, "not UTF-8 text: byte 0xe9"),
    ("control-character", b"workflow:\n  name: a\x07b\n", 2, 10, "is not allowed in YAML"),
    ("several-documents", VALID.encode() + b"---\n" + VALID.encode(), 5, 1, "several YAML documents"),
    ("python-tag", b"workflow: !!python/object:os.system {}\n", 1, 11, "unsupported YAML tag"),
    ("deep-nesting", b"workflow: " + b"[" * 150 + b"]" * 150 + b"\n", 1, 111, "nested more than 100 levels"),
    ("complex-key", b"workflow:\n  ? [a, b]\n  : c\n", 2, 5, "a key must be a plain name"),
]


@pytest.mark.parametrize(("content", "line", "col", "message"), [case[1:] for case in HOSTILE],
                         ids=[case[0] for case in HOSTILE])
def test_hostile_content_gives_one_clear_line(tmp_path, content, line, col, message):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    started = time.perf_counter()
    result = load_workflow(path)
    assert time.perf_counter() - started < 5
    assert result.workflow is None and result.errors
    matching = [error for error in result.errors if message in error.message]
    assert matching, "\n".join(map(str, result.errors))
    error = matching[0]
    assert (error.line, error.col) == (line, col), str(error)
    assert "\n" not in str(error)


def test_directory(tmp_path):
    (error,) = load_workflow(tmp_path).errors
    assert str(error) == f"{tmp_path}: is a directory, not a workflow file"


def test_missing_file(tmp_path):
    (error,) = load_workflow(tmp_path / "nope.yaml").errors
    assert str(error) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_file_over_the_size_cap_is_refused_without_reading(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    started = time.perf_counter()
    (error,) = load_workflow(path).errors
    assert time.perf_counter() - started < 1
    assert error.message == f"file is 50.0 MB; workflow files are limited to {MAX_FILE_BYTES // 2**20} MB"


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text(VALID)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make the check see what a user would
        monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    (error,) = load_workflow(path).errors
    assert str(error) == f"{path}: cannot read: permission denied"


def test_fifo_does_not_hang(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    (error,) = load_workflow(path).errors
    assert error.message == "not a regular file"


def test_cli_reports_every_hostile_file_on_one_line_and_exits_2(tmp_path):
    files = []
    for name, content, *_ in HOSTILE:
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(content)
        files.append(path)
    files += [tmp_path, tmp_path / "missing.yaml"]
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "validate", *map(str, files)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    summaries = [line for line in done.stdout.splitlines() if line.endswith(("error", "errors"))]
    assert len(summaries) == len(files)


# A workflow naming a callback module; the module's top level leaves a marker when it runs.
CALLBACK_FLOW = """\
workflow:
  name: w
  steps:
    - name: a
      type: claude
      claude_options:
        stream_handler: callback
        stream_handler_opts: {callback: "%s"}
      prompt: hi
"""
MARKER_MODULE = "from pathlib import Path\nPath(__file__).with_name('ran.marker').write_text('ran')\n"


def _callback_flow(folder: Path, reference: str) -> Path:
    flow = folder / "flow.yaml"
    flow.write_text(CALLBACK_FLOW % reference, encoding="utf-8")
    return flow


def test_validate_never_runs_a_callback_module(tmp_path):
    (tmp_path / "hostile_callback.py").write_text(MARKER_MODULE + "def on_chunk(chunks, context): pass\n")
    flow = _callback_flow(tmp_path, "hostile_callback:on_chunk")
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "validate", str(flow)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert (done.returncode, done.stdout) == (0, f"{flow}: ok\n"), done.stderr
    assert not (tmp_path / "ran.marker").exists()


def test_a_missing_callback_function_is_found_without_running_the_module(tmp_path):
    (tmp_path / "hostile_callback.py").write_text(MARKER_MODULE + "async def on_batch(chunks, ctx): pass\n")
    first = load_workflow(_callback_flow(tmp_path, "hostile_callback:on_chunk")).errors[0]
    assert (first.line, first.col) == (8, 41)
    assert first.message == (
        "'hostile_callback:on_chunk': module 'hostile_callback' has no function 'on_chunk'"
    )
    assert not (tmp_path / "ran.marker").exists()


def test_a_callback_in_a_package_is_found_without_running_the_package(tmp_path):
    package = tmp_path / "hostile_package"
    package.mkdir()
    (package / "__init__.py").write_text(MARKER_MODULE)
    (package / "hooks.py").write_text("from json import dumps as on_chunk\n")
    assert load_workflow(_callback_flow(tmp_path, "hostile_package.hooks:on_chunk")).ok
    first = load_workflow(_callback_flow(tmp_path, "hostile_package.hooks:missing")).errors[0]
    assert first.message == (
        "'hostile_package.hooks:missing': module 'hostile_package.hooks' has no function 'missing'"
    )
    assert not (package / "ran.marker").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def on_chunk(:\n",
         "'broken_callback:on_chunk': broken_callback.py does not parse: invalid syntax (line 1)"),
        (None, "'broken_callback:on_chunk' cannot be imported: ModuleNotFoundError: no module named "
               "'broken_callback' (looked in the Python path, the current folder and the workflow's folder)"),
    ],
    ids=["syntax-error", "fifo"],
)
def test_an_unreadable_callback_module_is_one_line(tmp_path, source, message):
    module = tmp_path / "broken_callback.py"
    if source is None:
        os.mkfifo(module)  # reading it would block validate forever; import skips it too
    else:
        module.write_text(source)
    started = time.perf_counter()
    first = load_workflow(_callback_flow(tmp_path, "broken_callback:on_chunk")).errors[0]
    assert time.perf_counter() - started < 5
    assert first.message == message


def test_workspace_may_not_be_the_home_directory(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    flow = tmp_path / "flow.yaml"
    flow.write_text(f"workflow:\n  name: w\n  workspace_dir: {home}\n  steps:\n"
                    "    - {name: a, type: claude, prompt: hi}\n")
    first = load_workflow(flow).errors[0]
    assert str(first) == (f"{flow}:3:18: workspace_dir: workspace_dir '{home}' is your home directory: "
                          "tools could read and change all your files")
    (home / "ws").mkdir()
    flow.write_text(flow.read_text().replace(str(home), str(home / "ws")))
    assert load_workflow(flow).ok
