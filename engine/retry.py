"""Which failures are worth another attempt, and how long to wait before it.

The SDK only retries before a response body starts; the engine retries every class of failure
itself (the client is built with `max_retries=0`) so each attempt is visible as an event.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import anthropic
import httpx2

from engine.workflow.model import MAX_DELAY_MS
from engine.workflow.model import RETRY_REASONS as RETRY_CLASSES

# No wait between attempts is ever longer than this, whatever the server or the retry config says.
MAX_DELAY_CEILING_S = MAX_DELAY_MS / 1000


class AttemptFailed(Exception):
    """One model call failed. `failure` names its class (one of RETRY_CLASSES, or `fatal`)."""

    def __init__(self, failure: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff: str = "exponential"
    base_delay_ms: float = 500
    max_delay_ms: float = 30_000
    jitter: bool = True
    retry_on: tuple[str, ...] = RETRY_CLASSES

    @classmethod
    def from_config(cls, config: object | None) -> RetryPolicy:
        if config is None:
            return cls()
        fields = {}
        for name in ("max_retries", "backoff", "base_delay_ms", "max_delay_ms", "jitter", "retry_on"):
            value = getattr(config, name, None)
            if value is not None:
                fields[name] = tuple(value) if name == "retry_on" else value
        return cls(**fields)

    def should_retry(self, failure: AttemptFailed, attempt: int) -> bool:
        return failure.failure in self.retry_on and attempt <= self.max_retries

    def delay_s(self, attempt: int, retry_after: float | None = None) -> float:
        """Delay before attempt `attempt + 1`: the backoff, or the server's `retry-after` when that is
        longer; never more than `max_delay_ms` (nor MAX_DELAY_CEILING_S). Non-finite values are ignored."""
        cap = _finite_or(self.max_delay_ms / 1000, MAX_DELAY_CEILING_S)
        cap = min(max(cap, 0.0), MAX_DELAY_CEILING_S)
        base = max(_finite_or(self.base_delay_ms / 1000, 0.0), 0.0)
        if self.backoff == "fixed":
            delay = base
        elif self.backoff == "linear":
            delay = base * attempt
        else:
            # 2**1100 overflows a float: past 2**64 any base is over the ceiling anyway.
            delay = base * 2.0 ** min(max(attempt - 1, 0), 64)
        delay = min(delay, cap)
        if self.jitter:
            delay *= random.uniform(0.75, 1.0)
        if retry_after is not None and math.isfinite(retry_after) and retry_after > delay:
            delay = min(retry_after, cap)
        return delay


def _finite_or(value: float, default: float) -> float:
    return value if math.isfinite(value) else default


def _retry_after(response: httpx2.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    # `inf`, `nan` and negative numbers are not waits; huge ones are capped by the policy.
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def classify(exc: BaseException) -> AttemptFailed:
    """Map an SDK or transport exception to a failure class with a one-line message."""
    if isinstance(exc, AttemptFailed):
        return exc
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        kind = error.get("type", "") if isinstance(error, dict) else ""
        message = error.get("message", "") if isinstance(error, dict) else ""
        # A 200 here is an `error` event inside a stream that had started well.
        status = "mid-stream" if exc.status_code == 200 else str(exc.status_code)
        text = f"{status} {kind}: {message}" if kind else str(exc)
        if exc.status_code == 429 or kind == "rate_limit_error":
            return AttemptFailed("rate_limit", text, _retry_after(exc.response))
        if exc.status_code == 529 or kind == "overloaded_error":
            return AttemptFailed("overloaded", text, _retry_after(exc.response))
        if exc.status_code >= 500 or kind == "api_error" or exc.status_code == 200:
            return AttemptFailed("server_error", text)
        return AttemptFailed("fatal", text)
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return AttemptFailed("timeout", f"the API did not answer in time ({type(exc).__name__})")
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        return AttemptFailed("connection", f"connection lost: {exc or type(exc).__name__}")
    return AttemptFailed("fatal", f"{type(exc).__name__}: {exc}")
