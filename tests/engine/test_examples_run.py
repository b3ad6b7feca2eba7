"""Every example in workflows/ runs on the simulator (with the scenario shipped beside it, if any)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "workflows").glob("*.yaml"))  # scenarios live in workflows/scenarios/
# Examples whose scenario scripts a failure that the run reports.
EXPECTED_EXIT = {"claude_batch": 1}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_an_example_workflow_runs_on_the_simulator(example, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # its workspace and outputs land here
    monkeypatch.syspath_prepend(str(ROOT))  # so `workflows.stream_callbacks` imports, as from the project
    code = main(
        [
            "run",
            str(example),
            "--no-tui",
            "--provider",
            "simulator",
            "--ttft-ms",
            "0",
            "--tokens-per-second",
            "0",
            "--output-dir",
            str(tmp_path / "outputs"),
        ]
    )
    out = capsys.readouterr()
    assert code == EXPECTED_EXIT.get(example.stem, 0), out.out[-2000:] + out.err[-2000:]
    assert "Traceback" not in out.err
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == ("failed" if code == 1 else "succeeded")
    assert record["simulated"] is True
