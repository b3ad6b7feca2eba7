"""Callbacks for workflows/handler_callback.yaml: a stream handler is any `module:function`."""

from __future__ import annotations

import sys
from typing import Any

received: dict[str, str] = {}  # the text each step streamed so far, as the callback holds it


def count_words(chunks: list[str], context: dict[str, Any]) -> None:
    """Called with each flushed batch of chunks; here it keeps the text and reports the words so far."""
    step = context["step_id"]
    received[step] = received.get(step, "") + "".join(chunks)
    print(f"[{step}] {len(received[step].split())} words so far", file=sys.stderr)


def take_back(notice: dict[str, Any], context: dict[str, Any]) -> None:
    """`on_reset`: a retried attempt threw its text away; drop the last `discard_chars` characters.

    `notice` is {"event": "reset", "step_id", "attempt", "max_attempts", "reason", "discard_chars"}.
    """
    step = context["step_id"]
    text = received.get(step, "")
    received[step] = text[: len(text) - notice["discard_chars"]]
    print(
        f"[{step}] attempt {notice['attempt']}/{notice['max_attempts']} after {notice['reason']}: "
        f"{notice['discard_chars']} characters taken back",
        file=sys.stderr,
    )


async def announce_done(result: dict[str, Any], context: dict[str, Any]) -> None:
    """`on_complete`: called once with the step's final status and metrics (async works too)."""
    metrics = result["metrics"]
    words = len(received.get(context["step_id"], "").split())
    print(
        f"[{context['step_id']}] {result['status']}: {metrics['output_tokens']} tokens, {words} words held",
        file=sys.stderr,
    )
