"""How the dashboard writes figures: one format for seconds, token counts, dollars and counted things."""

from __future__ import annotations


def seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def tokens(value: int) -> str:
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.2f}M"


def money(value: float) -> str:
    """Dollars with cents everywhere ("$0.50", "$12.00"); a cost under a cent says so instead of "$0.00"."""
    if 0 < value < 0.005:
        return "<$0.01"
    return f"${value:,.2f}"


def count(number: int, thing: str, plural: str | None = None) -> str:
    """ "1 step", "2 steps"."""
    return f"{number:,} {thing if number == 1 else plural or thing + 's'}"


# What each class of failure (the engine's retry classes) means, as the start of a sentence.
FAILURES = {
    "connection": "connection dropped",
    "timeout": "the API stopped answering",
    "incomplete_stream": "the stream ended early",
    "overloaded": "the API was overloaded",
    "rate_limit": "rate limited",
    "server_error": "the API had an error",
}


# Failures whose detail is the API's own message (worth showing); the others' is transport text.
SAYS_WHAT = ("overloaded", "rate_limit", "server_error")


def failure_words(reason: str) -> str:
    """An engine failure reason ("connection: connection lost: TransferEncodingError: …") as words a
    person reads ("connection dropped"); an unknown one is kept as it is."""
    failure, _, detail = reason.partition(":")
    words = FAILURES.get(failure.strip())
    if words is None:
        return reason
    detail, _, fallback = detail.partition("; falling back to ")
    if failure in SAYS_WHAT and detail.strip():
        # The API's own message says what went wrong; a transport's exception text would not.
        words += f" ({detail.strip()})"
    return f"{words}; falling back to {fallback}" if fallback else words


def retry_sentence(reason: str, streamed: int, attempt: int, of: int, delay_s: float) -> str:
    """ "connection dropped after 42 tokens; attempt 2 of 3 in 1.2 s"."""
    after = f" after {count(streamed, 'token')}" if streamed else ""
    return f"{failure_words(reason)}{after}; attempt {attempt} of {of} in {delay_s:.1f} s"
