"""Structured output: finds a JSON Schema a request asks the answer to follow, and builds an instance of it.

The instance is deterministic (drawn from the request's seeded random generator and its words).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

MAX_DEPTH = 8
SCHEMA_KEYS = ("properties", "$schema", "items", "anyOf", "oneOf", "enum")


def requested_schema(body: dict[str, Any], system_text: str, prompt: str) -> dict[str, Any] | None:
    """The JSON Schema this request wants the answer to match, or None.

    Looks at `output_config.format` (current API), `output_format` (older beta), then a JSON Schema
    object written into the system prompt or the last user message.
    """
    for option in (_get(body, "output_config", "format"), body.get("output_format")):
        if isinstance(option, dict) and option.get("type") == "json_schema":
            schema = option.get("schema")
            if isinstance(schema, dict):
                return schema
    for text in (system_text, prompt):
        schema = _schema_in_text(text)
        if schema is not None:
            return schema
    if JSON_ONLY.search(system_text):
        # Asked for JSON with no schema (an extraction without one): a real model answers an object.
        return {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
    return None


JSON_ONLY = re.compile(r"answer with only a JSON value", re.IGNORECASE)


def _get(body: dict[str, Any], *keys: str) -> Any:
    value: Any = body
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _schema_in_text(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            candidate, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            candidate = None
        if isinstance(candidate, dict) and _looks_like_schema(candidate):
            return candidate
        start = text.find("{", start + 1)
    return None


def _looks_like_schema(candidate: dict[str, Any]) -> bool:
    return isinstance(candidate.get("type"), str | list) and any(key in candidate for key in SCHEMA_KEYS)


class SchemaInstance:
    """Builds a value matching a JSON Schema, choosing strings from the prompt's words."""

    def __init__(self, root: dict[str, Any], words: list[str], rng: random.Random) -> None:
        self.root = root
        self.words = words
        self.rng = rng

    def build(self) -> Any:
        return self.value_of(self.root, "value", 0)

    def value_of(self, schema: Any, name: str, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return None
        if "$ref" in schema:
            return self.value_of(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        for combinator in ("anyOf", "oneOf", "allOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                return self.value_of((non_null or options)[0], name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._integer(schema) + self.rng.choice((0.0, 0.25, 0.5))
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, name)

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {}
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        return node

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {key: self.value_of(sub, key, depth + 1) for key, sub in properties.items()}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = schema.get("minItems", 2) if isinstance(schema.get("minItems"), int) else 2
        high = schema.get("maxItems") if isinstance(schema.get("maxItems"), int) else max(low, 3)
        count = max(0, min(max(low, 2), high))
        return [self.value_of(schema.get("items", {}), name, depth + 1) for _ in range(count)]

    def _integer(self, schema: dict[str, Any]) -> int:
        low = schema.get("minimum", 1)
        high = schema.get("maximum", max(int(low), 0) + 99)
        low, high = int(low), int(high)
        return self.rng.randint(low, high) if low <= high else low

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "email":
            return f"{self.rng.choice(self.words)}@example.com"
        if fmt == "date-time":
            return "2025-01-15T09:30:00Z"
        if fmt == "date":
            return "2025-01-15"
        if fmt in ("uri", "url"):
            return f"https://example.com/{self.rng.choice(self.words)}"
        lowered = name.lower()
        if any(word in lowered for word in ("summary", "description", "explanation", "reason", "text")):
            a, b = self.rng.choice(self.words), self.rng.choice(self.words)
            text = f"A short {lowered.replace('_', ' ')} of {a} and how it relates to {b}."
        elif "name" in lowered or "title" in lowered:
            text = " ".join(w.capitalize() for w in self.rng.sample(self.words, min(2, len(self.words))))
        else:
            text = self.rng.choice(self.words)
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and max_length >= 0:
            text = text[:max_length]
        min_length = schema.get("minLength")
        if isinstance(min_length, int) and len(text) < min_length:
            text = text.ljust(min_length, "x")
        return text


def schema_answer(schema: dict[str, Any], words: list[str], rng: random.Random, *, invalid: bool) -> str:
    """The JSON text of an instance of `schema`; with `invalid`, text that does not parse as JSON."""
    text = json.dumps(SchemaInstance(schema, words, rng).build(), indent=2, ensure_ascii=False)
    # Losing the final character (and adding prose) is how a real model's broken JSON usually looks.
    return text[:-1] + "\n(continued)" if invalid else text
