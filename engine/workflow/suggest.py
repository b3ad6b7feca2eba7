"""Did-you-mean suggestions for misspelt keys, enum values and names."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, if any is close enough to be a likely typo."""
    import difflib  # only once a mistake is found: a file without one never needs it

    choices = list(candidates)
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # Case slips (`read` for `Read`) and abbreviations (`expo`) score low with difflib.
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    starts = [choice for choice in choices if len(word) >= 3 and choice.lower().startswith(word.lower())]
    return starts[0] if len(starts) == 1 else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`"; did you mean 'x'?"` or an empty string."""
    match = closest(word, candidates)
    return f"; did you mean '{match}'?" if match else ""


def one_of(values: Iterable[str]) -> str:
    """`a, b or c` for messages."""
    items = list(values)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
