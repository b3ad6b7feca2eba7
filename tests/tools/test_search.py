"""Glob, Grep and LS on a real workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tools import ToolBox


@pytest.fixture
def tree(workspace: Path) -> Path:
    files = {
        "README.md": "# Demo\nTODO: write docs\n",
        "src/app.py": "import os\n\ndef main():\n    return 'todo'\n",
        "src/util.ts": "export const x = 1; // TODO\n",
        "src/web/page.tsx": "const Page = () => null; // todo later\n",
        "tests/test_app.py": "def test_main():\n    assert True\n",
    }
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    (workspace / "logo.bin").write_bytes(b"TODO\x00\x01\x02")
    return workspace


async def test_glob_recursive_sorted_and_workspace_relative(box: ToolBox, tree: Path) -> None:
    outcome = await box.run("Glob", {"pattern": "**/*.py"})
    assert outcome.output.splitlines() == ["src/app.py", "tests/test_app.py"]


async def test_glob_braces_directories_and_path(box: ToolBox, tree: Path) -> None:
    braces = await box.run("Glob", {"pattern": "src/**/*.{ts,tsx}"})
    assert braces.output.splitlines() == ["src/util.ts", "src/web/page.tsx"]
    top = await box.run("Glob", {"pattern": "*"})
    assert top.output.splitlines() == ["README.md", "logo.bin", "src/", "tests/"]
    under = await box.run("Glob", {"pattern": "*.py", "path": "tests"})
    assert under.output == "tests/test_app.py"
    absolute = await box.run("Glob", {"pattern": str(tree / "src" / "*.py")})
    assert absolute.output == "src/app.py"


async def test_glob_without_matches_is_not_an_error(box: ToolBox, tree: Path) -> None:
    outcome = await box.run("Glob", {"pattern": "**/*.rs"})
    assert not outcome.is_error and outcome.output == "no files match '**/*.rs' in '.'"
    missing = await box.run("Glob", {"pattern": "*", "path": "nope"})
    assert missing.is_error and "directory not found: 'nope'" in missing.output


async def test_grep_lists_file_line_text(box: ToolBox, tree: Path) -> None:
    outcome = await box.run("Grep", {"pattern": "TODO"})
    assert outcome.output.splitlines() == [
        "README.md:2: TODO: write docs",
        "src/util.ts:1: export const x = 1; // TODO",
    ]


async def test_grep_ignore_case_glob_and_path(box: ToolBox, tree: Path) -> None:
    case = await box.run("Grep", {"pattern": "todo", "ignore_case": True, "glob": "*.{ts,tsx}"})
    assert case.output.splitlines() == [
        "src/util.ts:1: export const x = 1; // TODO",
        "src/web/page.tsx:1: const Page = () => null; // todo later",
    ]
    nested = await box.run("Grep", {"pattern": "todo", "glob": "web/*.tsx", "path": "src"})
    assert nested.output == "src/web/page.tsx:1: const Page = () => null; // todo later"
    one_file = await box.run("Grep", {"pattern": r"def \w+", "path": "src/app.py"})
    assert one_file.output == "src/app.py:3: def main():"


async def test_grep_skips_big_files_and_reports_nothing_found(box: ToolBox, tree: Path) -> None:
    (tree / "big.log").write_text("needle\n" * 800_000)  # 5.6 MB
    outcome = await box.run("Grep", {"pattern": "needle"})
    assert not outcome.is_error
    assert outcome.output.splitlines() == [
        "no matches for /needle/ in '.'",
        "[skipped 1 files over 5 MB: big.log]",
    ]


async def test_grep_bad_regex_is_an_error(box: ToolBox, tree: Path) -> None:
    outcome = await box.run("Grep", {"pattern": "("})
    assert outcome.is_error and "not a valid Python regular expression" in outcome.output


async def test_grep_output_is_capped(workspace: Path) -> None:
    box = ToolBox(workspace, ["Grep"], output_cap_bytes=3000)
    (workspace / "many.txt").write_text("match me\n" * 5000)
    outcome = await box.run("Grep", {"pattern": "match"})
    assert len(outcome.output.encode()) <= 3000
    assert "output cap reached" in outcome.output.splitlines()[-1]


async def test_ls_lists_sorted_with_directory_slashes(box: ToolBox, tree: Path) -> None:
    root = await box.run("LS", {})
    assert root.output.splitlines() == ["README.md", "logo.bin", "src/", "tests/"]
    src = await box.run("LS", {"path": "src"})
    assert src.output.splitlines() == ["app.py", "util.ts", "web/"]
    (tree / "empty").mkdir()
    empty = await box.run("LS", {"path": "empty"})
    assert "is empty" in empty.output
    not_dir = await box.run("LS", {"path": "README.md"})
    assert not_dir.is_error and "'README.md' is not a directory" in not_dir.output
