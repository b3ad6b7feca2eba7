"""Turning an answer into structured data: JSON (also from a fenced block) checked against a JSON Schema,
and the post-processing steps of the format's origin (code blocks, links, key points, recommendations).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

FENCED = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.DOTALL)
CODE_BLOCK = re.compile(r"```([\w+-]*)\n(.*?)```", re.DOTALL)
LINK = re.compile(r"https?://[^\s)\]>\"']+")
BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*\S)", re.MULTILINE)
RECOMMENDATION = re.compile(r"[^.\n]*\b(?:should|recommend|consider|suggest)\b[^.\n]*[.\n]?", re.IGNORECASE)


def parse_json_answer(text: str) -> Any:
    """The JSON value in an answer: the whole text, else the first fenced block, else the outermost braces."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in FENCED.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    error: json.JSONDecodeError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = error or exc
    raise ValueError(
        f"the answer is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        if error
        else "the answer is empty"
    )


def schema_problem(value: Any, schema: dict[str, Any] | None) -> str | None:
    """A one-line description of how `value` breaks `schema`, or None when it matches."""
    if not schema:
        return None
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"


def post_process(text: str, steps: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step in steps:
        if step == "extract_code_blocks":
            out["code_blocks"] = [
                {"language": lang or None, "code": code} for lang, code in CODE_BLOCK.findall(text)
            ]
        elif step == "extract_links":
            out["links"] = list(dict.fromkeys(LINK.findall(text)))
        elif step == "extract_key_points":
            out["key_points"] = BULLET.findall(text)
        elif step == "extract_recommendations":
            out["recommendations"] = [m.group(0).strip() for m in RECOMMENDATION.finditer(text)]
    return out


def instructions(fmt: str, schema: dict[str, Any] | None) -> str:
    if fmt == "json":
        text = "Answer with only a JSON value, no prose and no code fence."
        if schema:
            text += " It must match this JSON Schema:\n" + json.dumps(schema, indent=2)
        return text
    if fmt == "summary":
        return "Answer with a concise summary: a one-line gist, then the key points as a short list."
    if fmt == "markdown":
        return "Answer in well-structured Markdown."
    return "Answer in plain text."
