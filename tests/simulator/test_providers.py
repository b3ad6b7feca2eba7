"""The provider helper: the simulator unless credentials are set, behind the same SDK client."""

from __future__ import annotations

import pytest

from engine.providers import SIMULATOR_API_KEY, open_provider
from engine.simulator import SimulatorConfig
from tests.simulator.support import MODEL, PROMPT, user


async def test_auto_without_credentials_uses_the_simulator(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    async with open_provider("auto", simulator_config=SimulatorConfig(), timeout=10) as provider:
        assert provider.simulated and provider.simulator is not None
        assert str(provider.client.base_url).startswith(provider.simulator.base_url)
        message = await provider.client.messages.create(model=MODEL, max_tokens=100, messages=user(PROMPT))
        assert message.content[0].text
        (record,) = await provider.simulator.wait_for_requests(1)
        assert record.status == 200


async def test_explicit_simulator_never_sends_a_real_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-real-key-must-not-leak")
    async with open_provider("simulator") as provider:
        assert provider.simulated
        assert provider.client.api_key == SIMULATOR_API_KEY
        assert provider.client.timeout is not None


async def test_auto_with_credentials_uses_the_real_api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    async with open_provider("auto") as provider:
        assert not provider.simulated and provider.simulator is None
        assert provider.client.base_url.host == "api.anthropic.com"


async def test_unknown_provider_is_refused():
    with pytest.raises(ValueError, match="unknown provider"):
        async with open_provider("bedrock"):  # type: ignore[arg-type]
            pass
