"""Cost of a model call from its usage, priced from the one data file `engine/data/prices.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.workflow.presets import resolve_model

_PRICES = Path(__file__).parent / "data" / "prices.json"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


@cache
def _table() -> tuple[dict[str, Price], float]:
    raw = json.loads(_PRICES.read_text(encoding="utf-8"))
    models = {name: Price(**fields) for name, fields in raw["models"].items()}
    return models, float(raw["batch"])


@cache
def price_for(model: str) -> Price:
    """The price of a model id, or of what an alias resolves to."""
    models, _ = _table()
    model = resolve_model(model)
    if model in models:
        return models[model]
    prefixes = sorted((name for name in models if model.startswith(name)), key=len, reverse=True)
    return models[prefixes[0]] if prefixes else models["default"]


def cost_usd(
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    batch: bool = False,
) -> float:
    price = price_for(model)
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write_tokens * price.cache_write
        + cache_read_tokens * price.cache_read
    ) / 1_000_000
    return total * _table()[1] if batch else total
