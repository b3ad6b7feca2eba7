"""Path confinement: every path a tool touches is resolved, symlinks too, and must stay in the workspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class ToolError(Exception):
    """The call failed for a reason Claude can act on; the message goes back as an error result."""


class Refused(ToolError):
    """The sandbox refused the call (a path outside the workspace, a tool not enabled)."""


class Sandbox:
    """Resolves tool paths against one workspace directory and refuses any that leave it."""

    def __init__(self, workspace: Path) -> None:
        workspace.mkdir(parents=True, exist_ok=True)
        self.root = Path(os.path.realpath(workspace))

    def resolve(self, raw: str, *, field: str, base: Path | None = None) -> Path:
        """The real path `raw` names (relative to `base`, default the workspace, or absolute), refused if
        outside the workspace.

        Symlinks are resolved in every component, also for a path that does not exist yet (a new
        file's parent), so a link inside the workspace can never carry a read or a write out of it.
        """
        if not raw:
            raise ToolError(f"{field} is empty")
        if "\x00" in raw:
            raise ToolError(f"{field} contains a NUL character")
        if raw.startswith("~"):
            # The model means a home directory; never expand it, and never quietly make a '~' folder.
            raise Refused(f"refused: path '{raw}' is outside the workspace (no home directory here)")
        real = Path(os.path.realpath(raw if os.path.isabs(raw) else (base or self.root) / raw))
        if not self.contains(real):
            raise Refused(f"refused: path '{raw}' is outside the workspace")
        return real

    def contains(self, real: Path) -> bool:
        return real == self.root or real.is_relative_to(self.root)

    def shown(self, real: Path) -> str:
        """`real` as Claude should see it: relative to the workspace, '.' for the workspace itself."""
        return real.relative_to(self.root).as_posix() if real != self.root else "."


def refuse_hard_links(info: os.stat_result, shown: str) -> None:
    """Refuse a regular file with more than one name: path checks see only the name in the workspace,
    and another link to the same file may be outside it (/etc/shadow linked in, say)."""
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise Refused(
            f"refused: '{shown}' has {info.st_nlink} hard links, and a hard link can point outside the "
            "workspace, so it is neither read nor changed"
        )
