"""Model aliases resolve to current ids through the price table; that id is sent, priced and validated."""

from __future__ import annotations

import json
import re

import pytest

from engine.events import StepStarted
from engine.pricing import cost_usd, price_for
from engine.workflow import load_workflow
from engine.workflow.presets import PRICE_TABLE, priced_model, resolve_model
from tests.engine.conftest import workflow

TABLE = json.loads(PRICE_TABLE.read_text(encoding="utf-8"))


def test_the_price_table_is_dated_and_says_where_its_prices_come_from():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", TABLE["_checked"])
    assert "anthropic" in TABLE["_source"].lower() and "pricing" in TABLE["_source"]
    assert TABLE["batch"] == 0.5


@pytest.mark.parametrize("alias", sorted(TABLE["aliases"]))
def test_every_alias_resolves_to_a_priced_model(alias):
    assert priced_model(resolve_model(alias)) is not None


@pytest.mark.parametrize(
    ("written", "model_id", "per_million_in_out"),
    [
        ("opus", "claude-opus-4-7", (5.0, 25.0)),
        ("sonnet", "claude-sonnet-4-6", (3.0, 15.0)),
        ("haiku", "claude-haiku-4-5", (1.0, 5.0)),
        ("claude-opus-4", "claude-opus-4-0", (15.0, 75.0)),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", (0.8, 4.0)),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001", (1.0, 5.0)),
    ],
)
def test_aliases_resolve_and_are_priced_as_anthropic_publishes(written, model_id, per_million_in_out):
    assert resolve_model(written) == model_id
    price = price_for(written)
    assert (price.input, price.output) == per_million_in_out
    assert price.cache_read == pytest.approx(price.input / 10)
    assert price.cache_write == pytest.approx(price.input * 1.25)
    million = 1_000_000
    assert cost_usd(written, million, million) == pytest.approx(sum(per_million_in_out))
    assert cost_usd(written, million, million, batch=True) == pytest.approx(sum(per_million_in_out) / 2)


def test_validate_names_the_resolved_id_and_suggests_a_known_model(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        workflow(
            """
    - {name: a, type: claude, prompt: hi, claude_options: {model: opus}}
    - {name: b, type: claude, prompt: hi, claude_options: {model: claude-sonet-4-6}}
    - {name: c, type: claude, prompt: hi, claude_options: {model: claude-haiku-4-5-20251001}}
    """
        ),
        encoding="utf-8",
    )
    loaded = load_workflow(path)
    assert not loaded.errors
    warnings = [str(w) for w in loaded.warnings]
    assert any("opus resolves to claude-opus-4-7" in w for w in warnings), warnings
    unknown = "unknown model 'claude-sonet-4-6'"
    assert any(unknown in w and "did you mean 'claude-sonnet-4-6'" in w for w in warnings), warnings
    assert len(warnings) == 2, warnings  # a dated id of a listed model is known


async def test_the_resolved_id_is_sent_to_the_api_and_priced(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(
            workflow(
                """
    - name: deep
      type: claude
      prompt: "Think hard"
      claude_options: {model: opus, stream_handler: buffer}
    """,
                tmp=tmp_path,
            )
        )
    step = result.steps["deep"]
    assert step.status == "succeeded"
    assert [record.model for record in h.sim.log if record.path == "/v1/messages"] == ["claude-opus-4-7"]
    [started] = h.of(StepStarted, "deep")
    assert started.model == "claude-opus-4-7"  # the record and the dashboard show the id, not the alias
    m = step.metrics
    assert m.cost_usd == pytest.approx((m.input_tokens * 5.0 + m.output_tokens * 25.0) / 1_000_000)
