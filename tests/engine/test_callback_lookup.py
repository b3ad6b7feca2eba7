"""A callback module kept beside the workflow is found by validate and by the run alike."""

from __future__ import annotations

from tests.engine.cli_support import run, validate
from tests.engine.conftest import workflow


def test_a_callback_beside_the_workflow_validates_and_runs(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "beside_cb.py").write_text(
        "from pathlib import Path\n\n"
        "def collect(chunks, context):\n"
        f"    with open({str(tmp_path / 'got.txt')!r}, 'a') as out:\n"
        "        out.write(''.join(chunks))\n",
        encoding="utf-8",
    )
    path = folder / "w.yaml"
    path.write_text(
        workflow(
            """
    - name: s
      type: claude
      claude_options:
        stream_handler: callback
        stream_handler_opts: {callback: {callback: 'beside_cb:collect'}}
      prompt: "Say hello"
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    checked = validate(tmp_path, path)
    assert checked.returncode == 0, checked.stderr
    ran = run(tmp_path, path)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert (tmp_path / "got.txt").read_text(encoding="utf-8")
