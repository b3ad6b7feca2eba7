"""The command line's basics: version, help, and a usage error for no command."""

from __future__ import annotations

import subprocess
import sys

from engine import __version__
from tui.cli import main


def test_version_is_printed_and_exits_zero(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"pipeline {__version__}"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: pipeline" in capsys.readouterr().out


def test_version_does_not_import_textual():
    code = (
        "import sys\nfrom tui.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")
