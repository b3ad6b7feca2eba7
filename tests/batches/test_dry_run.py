"""`pipeline run --dry-run FILE`: requests, estimated input tokens, the cost both ways; nothing called."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.pricing import cost_usd
from tests.batches.conftest import workflow

STEPS = """
- name: intro
  type: claude
  prompt: "Say hello"
- name: sums
  type: claude_batch
  prompt: "Summarize {{item}} after {{steps.intro.text}}"
  items: [apples, pears, plums, cherries]
  batch_config: {api: batches}
  claude_options: {model: claude-haiku-4-5, max_tokens: 100}
"""


def dry_run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "workflow.yaml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        # The real API as provider and no key: any call would fail, so a clean exit shows none was made.
        [sys.executable, "-m", "tui.cli", "run", str(path), "--dry-run", "--provider", "anthropic"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def test_dry_run_prints_each_step_and_the_cost_both_ways(tmp_path):
    done = dry_run(tmp_path, workflow(STEPS, tmp=tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "characters / 4" in done.stdout
    sums = next(line.split() for line in lines if line.startswith("sums"))
    assert sums[:4] == ["sums", "claude_batch", "batches", "4"]
    tokens = int(sums[4].replace(",", ""))
    assert 4 * 20 < tokens < 4 * 60  # four short prompts, with the request around them
    messages_high = float(sums[5].split("-$")[1])
    batches_high = float(sums[6].split("-$")[1])
    assert batches_high == round(messages_high / 2, 4) or abs(batches_high - messages_high / 2) < 1e-4
    assert abs(messages_high - cost_usd("claude-haiku-4-5", tokens, 400)) < 1e-4
    assert next(line for line in lines if line.startswith("intro")).split()[3] == "1"
    assert not (tmp_path / "outputs").exists()  # no run was started


def test_dry_run_of_a_bad_file_is_one_line_and_exit_2(tmp_path):
    done = dry_run(tmp_path, "workflow:\n  name: x\n  steps: []\n")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
