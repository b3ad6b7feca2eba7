"""Callbacks for workflows/handler_callback.yaml: a stream handler is any `module:function`."""

from __future__ import annotations

import sys
from typing import Any


def count_words(chunks: list[str], context: dict[str, Any]) -> None:
    """Called with each flushed batch of chunks; here it just reports the words so far."""
    text = "".join(chunks)
    print(f"[{context['step_id']}] +{len(text.split())} words", file=sys.stderr)


async def announce_done(result: dict[str, Any], context: dict[str, Any]) -> None:
    """`on_complete`: called once with the step's final status and metrics (async works too)."""
    metrics = result["metrics"]
    print(f"[{context['step_id']}] {result['status']}: {metrics['output_tokens']} tokens", file=sys.stderr)
