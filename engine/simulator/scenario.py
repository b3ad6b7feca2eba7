"""The simulator's scenario file: pacing defaults plus a fault script of rules matched per request.

A scenario is YAML; `Scenario.load` validates it and raises `ScenarioError` with a one-line message.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FAULTS = (
    "rate_limit",
    "overloaded",
    "server_error",
    "error_event",
    "drop",
    "stall",
    "cut",
    "slow_first_token",
    "auth_error",
    "permission_error",
)
# Faults that happen before any byte of the answer is sent: the request fails with an HTTP status.
STATUS_FAULTS = {
    "rate_limit": 429,
    "overloaded": 529,
    "server_error": 500,
    "auth_error": 401,  # a missing or rejected API key
    "permission_error": 403,  # a key that may not use this model or workspace
}
# Faults that happen mid-stream, once `after_tokens` tokens have been sent.
MID_STREAM_FAULTS = ("error_event", "drop", "stall", "cut")

PACING_KEYS = ("ttft_ms", "tokens_per_second", "answer_tokens")
MATCH_KEYS = ("request", "model", "prompt_contains", "custom_id", "times", "once")
# What a rule can make of a Message Batches item (`POST /v1/messages/batches`) instead of its answer.
BATCH_RESULTS = ("errored", "expired", "canceled")
BATCH_KEYS = ("batch_processing_ms", "batch_max_requests")
RULE_KEYS = (
    *MATCH_KEYS,
    *PACING_KEYS,
    "fault",
    "after_tokens",
    "retry_after",
    "seconds",
    "ms",
    "error_type",
    "message",
    "reply",
    "invalid_json_first",
    "chunk_chars",
    "tool_use",
    "batch_result",
)
TOP_LEVEL_KEYS = (*PACING_KEYS, *BATCH_KEYS, "rules")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Rule:
    """One fault-script rule: which requests it matches and what it does to them."""

    index: int
    requests: frozenset[int] = frozenset()
    model: str | None = None
    prompt_contains: str | None = None
    times: int | None = None
    fault: str | None = None
    after_tokens: int = 0
    retry_after: float = 1.0
    stall_seconds: float = 30.0
    slow_first_token_ms: float = 3000.0
    error_type: str = "overloaded_error"
    message: str | None = None
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    answer_tokens: int | None = None
    reply: str | None = None
    invalid_json_first: bool = False
    # Bulk answers: chunks of this many characters (answer_tokens of them) instead of word-sized ones.
    chunk_chars: int | None = None
    # A scripted tool call (name, input) made when that tool is offered, e.g. to test a sandbox.
    tool_use: tuple[str, dict[str, Any]] | None = None
    # Only for Message Batches items: the item with this custom_id, and what its result is.
    custom_id: str | None = None
    batch_result: str | None = None

    @property
    def batch_only(self) -> bool:
        return self.custom_id is not None or self.batch_result is not None

    def matches(self, number: int, model: str, prompt: str, custom_id: str | None = None) -> bool:
        if custom_id is None and self.batch_only:
            return False
        if self.custom_id is not None and self.custom_id != custom_id:
            return False
        if self.requests and number not in self.requests:
            return False
        if self.model is not None and self.model not in model:
            return False
        return self.prompt_contains is None or self.prompt_contains in prompt


@dataclass
class Scenario:
    """Pacing defaults and ordered rules; the first matching rule that has uses left applies."""

    rules: tuple[Rule, ...] = ()
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    answer_tokens: int | None = None
    # Message Batches: how long a batch takes to process, and the most requests one may hold.
    batch_processing_ms: float = 1000.0
    batch_max_requests: int = 100_000
    source: str = "<scenario>"
    # How often each rule has applied, and whether its one invalid-JSON answer was given (by rule index).
    _uses: dict[int, int] = field(default_factory=dict, repr=False)
    _invalid_json_given: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ScenarioError(f"{path}: cannot read scenario file ({error.strerror or error})") from None
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<scenario>") -> Scenario:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or "invalid YAML"
            raise ScenarioError(f"{source}: {problem}{where}") from None
        return cls.from_dict(data if data is not None else {}, source=source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<scenario>") -> Scenario:
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: expected a mapping with `rules:` and pacing defaults")
        _reject_unknown_keys(data, TOP_LEVEL_KEYS, source, "top level")
        rules_data = data.get("rules", [])
        if not isinstance(rules_data, list):
            raise ScenarioError(f"{source}: `rules` must be a list of rules")
        rules = tuple(_parse_rule(i, rule, source) for i, rule in enumerate(rules_data))
        return cls(
            rules=rules,
            ttft_ms=_number(data, "ttft_ms", source, "top level"),
            tokens_per_second=_number(data, "tokens_per_second", source, "top level"),
            answer_tokens=_count(data, "answer_tokens", source, "top level"),
            batch_processing_ms=_number_or(data, "batch_processing_ms", source, "top level", 1000.0),
            batch_max_requests=_count(data, "batch_max_requests", source, "top level") or 100_000,
            source=source,
        )

    def select(self, number: int, model: str, prompt: str, custom_id: str | None = None) -> Rule | None:
        """The rule for this request or batch item (`custom_id`), counting one use of it; or None."""
        for rule in self.rules:
            used = self._uses.get(rule.index, 0)
            if rule.times is not None and used >= rule.times:
                continue
            if rule.matches(number, model, prompt, custom_id):
                self._uses[rule.index] = used + 1
                return rule
        return None

    def take_invalid_json(self, rule: Rule) -> bool:
        """True once per rule with `invalid_json_first`: this structured answer should be invalid JSON."""
        if not rule.invalid_json_first or rule.index in self._invalid_json_given:
            return False
        self._invalid_json_given.add(rule.index)
        return True


def _parse_rule(index: int, data: Any, source: str) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: {where} must be a mapping")
    _reject_unknown_keys(data, RULE_KEYS, source, where)
    fault = data.get("fault")
    if fault is not None and fault not in FAULTS:
        hint = _did_you_mean(str(fault), FAULTS)
        choices = ", ".join(FAULTS)
        raise ScenarioError(f"{source}: {where}.fault: unknown fault {fault!r}{hint} (one of {choices})")
    requests = data.get("request")
    if requests is None:
        request_numbers: frozenset[int] = frozenset()
    else:
        items = requests if isinstance(requests, list) else [requests]
        if not items or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in items):
            problem = "expected a request number >= 1 or a list of them"
            raise ScenarioError(f"{source}: {where}.request: {problem}")
        request_numbers = frozenset(items)
    times = _count(data, "times", source, where)
    once = data.get("once", False)
    if not isinstance(once, bool):
        raise ScenarioError(f"{source}: {where}.once: expected true or false")
    if once:
        times = 1
    reply = data.get("reply")
    if reply is not None and not isinstance(reply, str):
        raise ScenarioError(f"{source}: {where}.reply: expected a string")
    invalid_json_first = data.get("invalid_json_first", False)
    if not isinstance(invalid_json_first, bool):
        raise ScenarioError(f"{source}: {where}.invalid_json_first: expected true or false")
    tool_use = data.get("tool_use")
    if tool_use is not None:
        if (
            not isinstance(tool_use, dict)
            or not isinstance(tool_use.get("name"), str)
            or not isinstance(tool_use.get("input", {}), dict)
            or set(tool_use) - {"name", "input"}
        ):
            raise ScenarioError(f"{source}: {where}.tool_use: expected {{name: TOOL, input: {{...}}}}")
        tool_use = (tool_use["name"], dict(tool_use.get("input", {})))
    batch_result = data.get("batch_result")
    if batch_result is not None and batch_result not in BATCH_RESULTS:
        choices = ", ".join(BATCH_RESULTS)
        problem = f"expected one of {choices}, got {batch_result!r}"
        raise ScenarioError(f"{source}: {where}.batch_result: {problem}")
    return Rule(
        index=index,
        requests=request_numbers,
        model=_text(data, "model", source, where),
        prompt_contains=_text(data, "prompt_contains", source, where),
        times=times,
        fault=fault,
        after_tokens=_count(data, "after_tokens", source, where, minimum=0) or 0,
        retry_after=_number_or(data, "retry_after", source, where, 1.0),
        stall_seconds=_number_or(data, "seconds", source, where, 30.0),
        slow_first_token_ms=_number_or(data, "ms", source, where, 3000.0),
        error_type=_text(data, "error_type", source, where) or "overloaded_error",
        message=_text(data, "message", source, where),
        ttft_ms=_number(data, "ttft_ms", source, where),
        tokens_per_second=_number(data, "tokens_per_second", source, where),
        answer_tokens=_count(data, "answer_tokens", source, where),
        reply=reply,
        invalid_json_first=invalid_json_first,
        chunk_chars=_count(data, "chunk_chars", source, where),
        tool_use=tool_use,
        custom_id=_text(data, "custom_id", source, where),
        batch_result=batch_result,
    )


def _reject_unknown_keys(data: dict[Any, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            hint = _did_you_mean(str(key), allowed)
            raise ScenarioError(f"{source}: {where}: unknown key {key!r}{hint}")


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _text(data: dict[str, Any], key: str, source: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ScenarioError(f"{source}: {where}.{key}: expected a string")
    return value


def _number(data: dict[str, Any], key: str, source: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not _finite_non_negative(value):
        raise ScenarioError(f"{source}: {where}.{key}: expected a finite number >= 0, got {value!r}")
    return float(value)


def _finite_non_negative(value: Any) -> bool:
    # NaN and infinity are floats that compare oddly: a pause of NaN seconds would crash the server.
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value < math.inf


def _number_or(data: dict[str, Any], key: str, source: str, where: str, default: float) -> float:
    value = _number(data, key, source, where)
    return default if value is None else value


def _count(data: dict[str, Any], key: str, source: str, where: str, minimum: int = 1) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{source}: {where}.{key}: expected a whole number >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class SimulatorConfig:
    """Pacing (None: the scenario's default, else as fast as possible) and an optional fault script."""

    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    scenario: Scenario | None = None

    def __post_init__(self) -> None:
        # Checked here, so the flags of `pipeline simulate` and `pipeline run` are refused at start-up.
        for name, value in (("ttft_ms", self.ttft_ms), ("tokens_per_second", self.tokens_per_second)):
            if value is not None and not _finite_non_negative(value):
                flag = "--" + name.replace("_", "-")
                raise ScenarioError(f"{flag} must be a finite number >= 0, got {value!r}")
