"""Honest copying: the text goes to a file in the run folder always, and to the terminal's clipboard
through OSC 52 where the terminal may take it; the message says which happened."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

# Terminals known to ignore OSC 52 (clipboard) escapes.
NO_OSC52_PROGRAMS = ("Apple_Terminal",)
NO_OSC52_TERMS = ("linux", "dumb", "")


def osc52_may_work(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("TERM_PROGRAM", "") in NO_OSC52_PROGRAMS:
        return False
    return env.get("TERM", "") not in NO_OSC52_TERMS


def copy_text(text: str, name: str, folder: Path, to_terminal: Callable[[str], None],
              env: Mapping[str, str] = os.environ) -> str:
    """Copy `text`; returns the sentence that says where it went."""
    saved = _save(text, name, folder)
    size = f"{len(text):,} characters"
    if osc52_may_work(env):
        to_terminal(text)
        where = f"; also saved to {saved}" if saved else ""
        return f"{size} sent to the terminal's clipboard (OSC 52; some terminals ignore it){where}"
    if saved:
        return f"{size} saved to {saved} (this terminal takes no clipboard escape)"
    return f"could not copy: this terminal takes no clipboard escape and {folder} is not writable"


def _save(text: str, name: str, folder: Path) -> Path | None:
    path = folder / "copied" / (re.sub(r"[^\w.-]+", "_", name) + ".txt")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path
