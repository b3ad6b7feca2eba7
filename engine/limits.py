"""How many streams the process can carry at once: each needs file descriptors (its connection, the
embedded simulator's side of it, its stream files), and running out of them turns into hundreds of
confusing connection failures instead of one clear message."""

from __future__ import annotations

import resource

FDS_PER_STREAM = 4  # client socket, simulator socket, stream file, spool file
RESERVED_FDS = 64  # the run record, the event loop, imports, the terminal


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (allowed without privileges);
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def stream_capacity() -> int:
    """The most streams that fit in the open-file limit in force now."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(1, (soft - RESERVED_FDS) // FDS_PER_STREAM)
