"""`claude_batch` with `api: batches`, through the official SDK against the simulated Batches API."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from tests.engine.conftest import harness_factory, workflow
from tests.history.conftest import run_schema, valid_record

__all__ = ["harness_factory", "recorded_items", "workflow"]


def recorded_items(result: Any, step: str = "sums") -> dict[str, dict[str, Any]]:
    """An itemized step's items as its run record has them (results/<step>.items.jsonl, by item id),
    run.json and every line checked against the published schema."""
    record = valid_record(result.run_dir)
    entry = record["steps"][step]["items"]
    item_schema = jsonschema.Draft202012Validator({"$defs": run_schema()["$defs"], "$ref": "#/$defs/item"})
    items = {}
    for line in (result.run_dir / entry["file"]).read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        item_schema.validate(item)
        assert item["id"] not in items, f"{item['id']} recorded twice"
        items[item["id"]] = item
    for status in ("succeeded", "failed", "interrupted", "skipped"):
        assert entry[status] == sum(1 for i in items.values() if i["status"] == status), status
    assert not any(key.startswith(step + ".") for key in record["steps"])  # no entry per item
    return items
