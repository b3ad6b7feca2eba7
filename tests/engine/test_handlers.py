"""Chunks reach every handler as they arrive, with the buffering rules of SPEC section 5."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.handlers import HandlerEnvironment
from tests.engine import callbacks
from tests.engine.conftest import workflow

REPLY = "".join(f"Line {n}: the quick brown fox jumps over the lazy dog.\n" for n in range(1, 41))


@pytest.fixture(autouse=True)
def _reset_callbacks():
    callbacks.reset()
    yield
    callbacks.reset()


def step(handler: str, opts: str = "{}", extra: str = "") -> str:
    return f"""
    - name: answer
      type: claude
      claude_options:
        stream_handler: {handler}
        stream_handler_opts: {opts}
        {extra}
      prompt: "Tell me about foxes"
    """


async def test_handler_sees_first_chunk_while_the_simulator_is_still_sending(harness_factory, tmp_path):
    async with harness_factory({"rules": [{"reply": REPLY}]}, tokens_per_second=200) as h:
        handle, _ = h.start(
            workflow(step("callback", "{callback: 'tests.engine.callbacks:record'}"), tmp=tmp_path)
        )
        for _ in range(200):
            if callbacks.calls:
                break
            await asyncio.sleep(0.01)
        assert callbacks.calls, "no chunk reached the callback handler while streaming"
        # The simulator logs a request only once it has finished answering it.
        assert h.sim.log == []
        result = await handle
    assert result.status == "succeeded"
    assert "".join(c for _, chunks, _ in callbacks.calls for c in chunks) == REPLY
    assert len(callbacks.calls) > 20  # many small deliveries, not one at the end


async def test_buffer_size_sets_how_many_chunks_each_call_gets(harness_factory, tmp_path):
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(
            workflow(
                step(
                    "callback",
                    "{callback: 'tests.engine.callbacks:record'}",
                    "stream_buffer_size: 25\n        stream_flush_interval_ms: 60000",
                ),
                tmp=tmp_path,
            )
        )
    sizes = [len(chunks) for _, chunks, _ in callbacks.calls]
    assert result.status == "succeeded"
    assert sizes[:-1] == [25] * (len(sizes) - 1) and 0 < sizes[-1] <= 25
    assert "".join(c for _, chunks, _ in callbacks.calls for c in chunks) == REPLY


async def test_flush_interval_delivers_partial_batches_of_a_slow_stream(harness_factory, tmp_path):
    async with harness_factory({"rules": [{"reply": REPLY[:400]}]}, tokens_per_second=100) as h:
        result = await h.run(
            workflow(
                step(
                    "callback",
                    "{callback: 'tests.engine.callbacks:record'}",
                    "stream_buffer_size: 100000\n        stream_flush_interval_ms: 100",
                ),
                tmp=tmp_path,
            )
        )
    assert result.status == "succeeded"
    # A buffer that never fills is still delivered every 100 ms, so a slow stream arrives in pieces.
    assert len(callbacks.calls) >= 3
    assert "".join(c for _, chunks, _ in callbacks.calls for c in chunks) == REPLY[:400]


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
async def test_file_handler_holds_exactly_the_streamed_text(harness_factory, tmp_path, fmt):
    async with harness_factory() as h:
        result = await h.run(workflow(step("file", f"{{format: {fmt}}}"), tmp=tmp_path))
        reference = await h.provider.client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=4096,
            messages=[{"role": "user", "content": "Tell me about foxes"}],
        )
    expected = "".join(block.text for block in reference.content if block.type == "text")
    path = result.run_dir / "streams" / f"answer.{'jsonl' if fmt == 'jsonl' else 'txt'}"
    if fmt == "text":
        assert path.read_bytes() == expected.encode("utf-8")
    else:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert all("ts" in line for line in lines)
        assert "".join(line["text"] for line in lines if line["event"] == "text") == expected
        assert lines[-1]["event"] == "step_finished"
    assert result.steps["answer"].text == expected


async def test_several_handlers_on_one_step_each_get_everything(harness_factory, tmp_path):
    env = HandlerEnvironment(console_enabled=False)
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(
            workflow(
                step(
                    "[file, buffer, callback]",
                    "{callback: {callback: 'tests.engine.callbacks:record_async',"
                    " on_complete: 'tests.engine.callbacks:done'}}",
                ),
                tmp=tmp_path,
            ),
            env,
        )
    assert (result.run_dir / "streams" / "answer.txt").read_text() == REPLY
    assert env.buffers["answer"].text == REPLY
    assert "".join(c for _, chunks, _ in callbacks.calls for c in chunks) == REPLY
    [(finished, context)] = callbacks.completions
    assert finished["status"] == "succeeded" and context["step_id"] == "answer"


async def test_a_slow_handler_stalls_neither_the_stream_nor_other_handlers(harness_factory, tmp_path):
    reply = REPLY[:600]
    async with harness_factory({"rules": [{"reply": reply}]}, tokens_per_second=300) as h:
        handle, _ = h.start(
            workflow(
                step(
                    "[callback, buffer]",
                    "{callback: {callback: 'tests.engine.callbacks:slow'}}",
                    "stream_buffer_size: 40",
                ),
                tmp=tmp_path,
            )
        )
        await h.sim.wait_for_requests(1, timeout=30)
        # The simulator finished sending while the slow callback (0.3 s a call) is still behind...
        assert len(callbacks.calls) < 3
        # ...and the buffer handler was not held up by it.
        for _ in range(100):
            if "answer" in handle.buffers and handle.buffers["answer"].text == reply:
                break
            await asyncio.sleep(0.01)
        assert handle.buffers["answer"].text == reply  # readable through the run handle
        result = await handle
    assert result.status == "succeeded"
    # Nothing was lost: the slow callback got every chunk once it caught up.
    assert "".join(c for _, chunks, _ in callbacks.calls for c in chunks) == reply


async def test_non_streaming_delivers_the_whole_text_once(harness_factory, tmp_path):
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(
            workflow(
                step("callback", "{callback: 'tests.engine.callbacks:record'}", "async_streaming: false"),
                tmp=tmp_path,
            )
        )
    assert result.status == "succeeded"
    assert [chunks for _, chunks, _ in callbacks.calls] == [[REPLY]]


async def test_a_broken_handler_fails_its_step_with_the_reason(harness_factory, tmp_path, caplog):
    env = HandlerEnvironment(console_enabled=False)
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(
            workflow(
                step("[callback, buffer]", "{callback: {callback: 'tests.engine.callbacks:explode'}}"),
                tmp=tmp_path,
            ),
            env,
        )
    answer = result.steps["answer"]
    # A handler that cannot do its job must not end in a success: the step fails, saying why.
    assert (result.status, answer.status, answer.reason) == ("failed", "failed", "handler")
    assert "stream handler callback failed" in answer.error and "this callback is broken" in answer.error
    assert result.exit_code == 1
    assert REPLY.startswith(env.buffers["answer"].text)  # the other handler kept what had arrived
    [warning] = [r for r in caplog.records if "this callback is broken" in r.getMessage()]
    assert warning.exc_info is None


def rotated(path):
    """The file and its rotated parts, oldest first (path.N is the oldest)."""
    return [*sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:])), path]


RETRY = "retry_config: {max_retries: 2, base_delay_ms: 10, max_delay_ms: 50}"


async def test_a_callback_with_on_reset_holds_exactly_the_result_after_a_retry(harness_factory, tmp_path):
    opts = "{callback: 'tests.engine.callbacks:collect', on_reset: 'tests.engine.callbacks:take_back'}"
    rules = [{"times": 1, "reply": REPLY, "fault": "drop", "after_tokens": 60}, {"reply": REPLY}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(step("callback", opts, RETRY), tmp=tmp_path))
    answer = result.steps["answer"]
    assert answer.status == "succeeded" and answer.metrics.retries == 1
    [notice] = callbacks.resets
    assert notice["event"] == "reset" and notice["attempt"] == 2 and notice["discard_chars"] > 0
    assert notice["reason"].startswith("connection")
    assert "".join(callbacks.received) == answer.text == REPLY


async def test_a_retry_in_a_later_turn_takes_back_only_that_turns_text(harness_factory, tmp_path):
    # Turn 1 calls a tool; turn 2's first attempt breaks off and is retried.
    opts = "{callback: 'tests.engine.callbacks:collect', on_reset: 'tests.engine.callbacks:take_back'}"
    rules = [
        {"request": 1, "tool_use": {"name": "LS", "input": {}}},
        {"request": 2, "reply": REPLY, "fault": "cut", "after_tokens": 40},
        {"reply": REPLY},
    ]
    extra = f"{RETRY}\n        allowed_tools: [LS]"
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(step("callback", opts, extra), tmp=tmp_path))
    answer = result.steps["answer"]
    assert answer.status == "succeeded" and answer.metrics.retries == 1
    assert "".join(callbacks.received) == answer.text
    assert answer.text.endswith(REPLY)


@pytest.mark.parametrize("limit", [2000, 333, 7])
async def test_file_max_bytes_is_exact_and_rotation_loses_nothing(harness_factory, tmp_path, limit):
    text = "".join(f"Zeile {n}: Füchse springen über den faulen Hund, €{n} — ok.\n" for n in range(80))
    opts = f"{{max_bytes: {limit}, backups: 2000}}"  # enough backups to keep every part
    async with harness_factory({"rules": [{"reply": text}]}) as h:
        result = await h.run(workflow(step("file", opts, "stream_buffer_size: 50"), tmp=tmp_path))
    assert result.steps["answer"].text == text
    path = result.run_dir / "streams" / "answer.txt"
    files = rotated(path)
    sizes = [f.stat().st_size for f in files]
    assert max(sizes) <= limit, sizes
    assert len(files) > 1
    # Split between characters: every file is valid UTF-8, and together they are the answer.
    assert "".join(f.read_text(encoding="utf-8") for f in files) == text


async def test_file_rotation_made_by_a_retried_attempt_is_taken_back(harness_factory, tmp_path):
    opts = "{max_bytes: 500, backups: 50}"
    rules = [{"times": 1, "reply": REPLY, "fault": "drop", "after_tokens": 300}, {"reply": REPLY}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(step("file", opts, RETRY), tmp=tmp_path))
    assert result.steps["answer"].metrics.retries == 1
    files = rotated(result.run_dir / "streams" / "answer.txt")
    assert max(f.stat().st_size for f in files) <= 500
    assert "".join(f.read_text(encoding="utf-8") for f in files) == REPLY


async def test_buffer_max_bytes_keeps_exactly_the_last_bytes(harness_factory, tmp_path):
    text = "".join(f"Grüße {n} — €€€ und so weiter.\n" for n in range(60))
    env = HandlerEnvironment(console_enabled=False)
    async with harness_factory({"rules": [{"reply": text}]}) as h:
        steps = step("buffer", "{max_bytes: 101}", "stream_buffer_size: 20")
        result = await h.run(workflow(steps, tmp=tmp_path), env)
    buffer = env.buffers["answer"]
    held = buffer.text.encode("utf-8")
    assert len(held) <= 101 and len(held) >= 101 - 3  # cut between characters
    assert text.endswith(buffer.text) and buffer.truncated
    assert result.steps["answer"].text == text  # later steps read the whole answer, not the buffer
