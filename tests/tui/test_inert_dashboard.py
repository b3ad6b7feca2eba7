"""The dashboard draws hostile text inert: an escape sequence from the model or the workflow never
reaches the terminal, in the live pane, the Markdown answer or the header."""

from __future__ import annotations

from tests.tui.conftest import engine_app, settle, wait_until

__all__ = ["engine_app"]

HOSTILE = "Title\x1b]0;pwned\x07 clipboard\x1b]52;c;SGVsbG8=\x07 clear\x1b[2J done\n"
STEPS = """
- name: evil
  type: claude
  claude_options: {stream_handler: [file]}
  prompt: "Say something"
"""


async def test_escape_sequences_from_the_model_are_shown_not_sent(engine_app):
    app, _ = engine_app(STEPS, {"rules": [{"reply": HOSTILE}]})
    written: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        driver = app._driver
        assert driver is not None
        write = driver.write

        def recording_write(data: str) -> None:
            written.append(data)
            write(data)

        driver.write = recording_write  # type: ignore[method-assign]
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
        await settle(app, pilot)
        step = app.state.steps["evil"]
        assert "\x1b" not in step.transcript.answer and "␛]52;c;SGVsbG8=␇" in step.transcript.answer
    drawn = "".join(written)
    assert "\x1b]52;" not in drawn and "\x1b]0;pwned" not in drawn and "\x1b[2J" not in drawn
