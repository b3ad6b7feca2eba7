"""Read, Write and Edit on a real workspace."""

from __future__ import annotations

import stat
from pathlib import Path

from engine.tools import ToolBox


async def test_read_numbers_lines_like_cat_n(box: ToolBox, workspace: Path) -> None:
    (workspace / "a.py").write_text("import os\n\nprint(os.sep)\n")
    outcome = await box.run("Read", {"file_path": "a.py"})
    assert not outcome.is_error
    assert outcome.output == "     1\timport os\n     2\t\n     3\tprint(os.sep)"


async def test_read_offset_and_limit_say_where_to_continue(box: ToolBox, workspace: Path) -> None:
    (workspace / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    outcome = await box.run("Read", {"file_path": "n.txt", "offset": 10, "limit": 3})
    assert outcome.output.splitlines() == [
        "    10\tline 10",
        "    11\tline 11",
        "    12\tline 12",
        "[more lines follow; continue with offset=13]",
    ]
    tail = await box.run("Read", {"file_path": "n.txt", "offset": 99})
    assert tail.output == "    99\tline 99\n   100\tline 100"


async def test_read_past_the_end_and_empty_files(box: ToolBox, workspace: Path) -> None:
    (workspace / "short.txt").write_text("one\ntwo\n")
    (workspace / "empty.txt").write_text("")
    past = await box.run("Read", {"file_path": "short.txt", "offset": 5})
    assert past.is_error and "has 2 lines" in past.output
    empty = await box.run("Read", {"file_path": "empty.txt"})
    assert not empty.is_error and "is empty" in empty.output


async def test_read_cuts_long_lines_and_caps_big_files(workspace: Path) -> None:
    box = ToolBox(workspace, ["Read"], output_cap_bytes=4000)
    (workspace / "wide.txt").write_text("x" * 50_000 + "\nnext\n")
    wide = await box.run("Read", {"file_path": "wide.txt"})
    first, second = wide.output.splitlines()
    assert first.endswith("x [line truncated]") and len(first) < 2100
    assert second == "     2\tnext"
    (workspace / "long.txt").write_text("".join(f"{i}\n" for i in range(10_000)))
    long = await box.run("Read", {"file_path": "long.txt"})
    assert len(long.output.encode()) <= 4000
    note = long.output.splitlines()[-1]
    assert note.startswith("[output cap reached; continue with offset=")


async def test_read_refuses_binaries_directories_and_missing_files(box: ToolBox, workspace: Path) -> None:
    (workspace / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (workspace / "dir").mkdir()
    binary = await box.run("Read", {"file_path": "img.png"})
    assert binary.is_error and "binary file" in binary.output
    directory = await box.run("Read", {"file_path": "dir"})
    assert directory.is_error and "is a directory; use LS" in directory.output
    missing = await box.run("Read", {"file_path": "nope.txt"})
    assert missing.is_error and missing.output == "error: file not found: 'nope.txt'"
    assert not missing.refused


async def test_write_creates_parents_and_reports_bytes(box: ToolBox, workspace: Path) -> None:
    outcome = await box.run("Write", {"file_path": "src/pkg/mod.py", "content": "é = 1\n"})
    assert not outcome.is_error
    assert outcome.output == "wrote 7 bytes to 'src/pkg/mod.py' (new file)"
    assert (workspace / "src/pkg/mod.py").read_text() == "é = 1\n"


async def test_write_replaces_atomically_and_keeps_the_mode(box: ToolBox, workspace: Path) -> None:
    script = workspace / "run.sh"
    await box.run("Write", {"file_path": "run.sh", "content": "old\n"})
    script.chmod(0o750)
    outcome = await box.run("Write", {"file_path": "run.sh", "content": "new\n"})
    assert "replaced its previous content" in outcome.output
    assert script.read_text() == "new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert sorted(p.name for p in workspace.iterdir()) == ["run.sh"]  # no temporary file left behind


async def test_write_onto_a_directory_is_an_error(box: ToolBox, workspace: Path) -> None:
    (workspace / "d").mkdir()
    outcome = await box.run("Write", {"file_path": "d", "content": "x"})
    assert outcome.is_error and not outcome.refused and "is a directory" in outcome.output


async def test_edit_replaces_exactly_one_occurrence(box: ToolBox, workspace: Path) -> None:
    (workspace / "a.py").write_text("def f():\n    return 1\n")
    outcome = await box.run("Edit", {"file_path": "a.py", "old_string": "return 1", "new_string": "return 2"})
    assert not outcome.is_error
    assert outcome.output == "edited 'a.py': replaced 1 occurrence"
    assert (workspace / "a.py").read_text() == "def f():\n    return 2\n"


async def test_edit_with_no_match_or_several_is_an_error(box: ToolBox, workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\nx = 1\n")
    none = await box.run("Edit", {"file_path": "a.py", "old_string": "y = 1", "new_string": "y = 2"})
    assert none.is_error and "old_string was not found in 'a.py'" in none.output
    several = await box.run("Edit", {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2"})
    assert several.is_error and "occurs 2 times" in several.output and "replace_all" in several.output
    assert (workspace / "a.py").read_text() == "x = 1\nx = 1\n"
    every = await box.run(
        "Edit", {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2", "replace_all": True}
    )
    assert every.output == "edited 'a.py': replaced 2 occurrences"
    assert (workspace / "a.py").read_text() == "x = 2\nx = 2\n"


async def test_edit_matches_crlf_files_with_plain_newlines(box: ToolBox, workspace: Path) -> None:
    (workspace / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    outcome = await box.run("Edit", {"file_path": "w.txt", "old_string": "one\ntwo", "new_string": "1\n2"})
    assert not outcome.is_error, outcome.output
    assert (workspace / "w.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"


async def test_edit_rejects_useless_or_impossible_edits(box: ToolBox, workspace: Path) -> None:
    (workspace / "a.txt").write_text("abc\n")
    same = await box.run("Edit", {"file_path": "a.txt", "old_string": "abc", "new_string": "abc"})
    assert same.is_error and "same as old_string" in same.output
    empty = await box.run("Edit", {"file_path": "a.txt", "old_string": "", "new_string": "x"})
    assert empty.is_error and "use Write" in empty.output
    missing = await box.run("Edit", {"file_path": "b.txt", "old_string": "a", "new_string": "b"})
    assert missing.is_error and "file not found: 'b.txt'" in missing.output
