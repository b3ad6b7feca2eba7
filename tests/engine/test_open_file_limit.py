"""A batch wider than the open-file limit allows runs as many at a time as fit, saying so once,
instead of failing hundreds of connections with 'too many open files'."""

from __future__ import annotations

import json
import resource

from tests.engine.cli_support import run
from tests.engine.conftest import workflow

ITEMS = 300
LIMIT = 256  # soft and hard: the process cannot raise it


def test_a_batch_wider_than_the_open_file_limit_completes(tmp_path):
    items = ", ".join(f'"item {n}"' for n in range(ITEMS))
    path = tmp_path / "wide.yaml"
    path.write_text(
        workflow(
            f"""
    - name: wide
      type: claude_batch
      items: [{items}]
      batch_config: {{max_parallel: {ITEMS}}}
      claude_options: {{stream_handler: file, max_tokens: 20}}
      prompt: "Classify {{{{item}}}}"
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    result = run(tmp_path, path, timeout=300, preexec_fn=low_limit)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "open-file limit" in result.stderr and "too many open files" not in result.stderr.lower()
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["steps"]["wide"]["status"] == "succeeded"
    assert len(list((run_dir / "streams").iterdir())) == ITEMS
