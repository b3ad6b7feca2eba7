"""Bash's OS sandbox: the bubblewrap (`bwrap`) command line that confines one call, as Claude Code's
Linux sandbox does.

Path checks cannot confine a shell, so the shell runs in new user, PID, network, IPC, UTS and mount
namespaces without capabilities: the whole file system read-only except the workspace (and a private
/tmp), a fresh /proc that shows only the call's own processes (never the engine's environment, API
key included), a clean environment, and no network unless the step allows it. When the shell exits,
bwrap's PID 1 exits and the kernel kills whatever is left in the namespace, `setsid` daemons included;
when bwrap or the engine dies, `--die-with-parent` takes the namespace with it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.workflow.model import ClaudeOptions

BWRAP = "bwrap"
INSTALL_HINT = "install it with `apt-get install bubblewrap`"
# Mounted empty over the host's: /tmp is private to the call, /run holds the host's service sockets
# (a Unix socket stays connectable through a read-only mount: the Docker socket, D-Bus, ...).
PRIVATE_DIRS = ("/tmp", "/run")
# With the network allowed, name resolution must keep working where this file links into /run.
RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True, slots=True)
class BashSandbox:
    """How Bash calls are confined: inside bubblewrap (`enabled`), with or without the network."""

    enabled: bool = True
    network: bool = False


# The default: confined, no network.
CONFINED = BashSandbox()


def bash_sandbox(options: ClaudeOptions) -> BashSandbox:
    """Bash's sandbox as a step's claude_options ask for it."""
    return BashSandbox(enabled=options.sandbox == "on", network=options.sandbox_network)


def find_bwrap() -> str | None:
    """The bwrap binary on the engine's PATH, looked up per call so installing it needs no restart."""
    return shutil.which(BWRAP)


def missing_bwrap_message() -> str:
    return (
        f"refused: Bash runs in a bubblewrap sandbox and `{BWRAP}` is not installed: {INSTALL_HINT} "
        "(or set claude_options.sandbox: off to run Bash unconfined)"
    )


def environment(workspace: Path) -> dict[str, str]:
    """All a sandboxed command sees of the environment: nothing of the engine's but PATH and LANG.

    bwrap itself is started with this too: its PID 1 is a fork of it, and /proc/1/environ shows the
    environment bwrap was started with, whatever `--clearenv` later does.
    """
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(workspace),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        # No terminal is attached: ask programs for plain output without colours or pagers.
        "TERM": "dumb",
        "PAGER": "cat",
        "GIT_PAGER": "cat",
    }


def bwrap_command(bwrap: str, workspace: Path, network: bool, env: dict[str, str]) -> list[str]:
    """The bwrap arguments up to `--`, for a shell in `workspace` (a resolved, existing directory)."""
    # Without --cap-drop, root in the sandbox keeps its capabilities there, and `umount -l /proc` or
    # `umount /run` bares the host's /proc (every process and its command line) or sockets underneath;
    # nested user namespaces, which would hand capabilities back, are disabled too.
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    if network:
        args.append("--share-net")
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    private = [directory for directory in PRIVATE_DIRS if os.path.isdir(directory)]
    for directory in private:
        args += ["--tmpfs", directory]
    if network:
        resolver = os.path.realpath(RESOLV_CONF)
        if any(Path(resolver).is_relative_to(directory) for directory in private):
            args += ["--ro-bind-try", resolver, resolver]
    # Last, so the workspace stays reachable also when it lies under one of the private dirs.
    args += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace), "--"]
    return args
