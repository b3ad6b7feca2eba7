"""Output is inert: control sequences from the model or the workflow never reach the terminal raw."""

from __future__ import annotations

import io

from engine.handlers import ConsoleWriter, HandlerEnvironment
from engine.inert import inert_text
from tests.engine.conftest import workflow

HOSTILE = "clear\x1b[2J title\x1b]0;pwned\x07 clipboard\x1b]52;c;SGVsbG8=\x07 csi\x9b31m end\r\n"


def test_inert_text_shows_every_control_character_but_newline_and_tab():
    shown = inert_text(HOSTILE + "\ttab")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown and "\r" not in shown
    assert shown.endswith("\n\ttab") and "␛]52;c;SGVsbG8=␇" in shown
    assert inert_text("plain text") == "plain text"


async def test_model_text_with_escape_sequences_reaches_the_console_inert_and_the_file_as_is(
    harness_factory, tmp_path
):
    out = io.StringIO()
    steps = """
    - name: "evil"
      type: claude
      claude_options: {stream_handler: [console, file]}
      prompt: "Say something"
    """
    async with harness_factory({"rules": [{"reply": HOSTILE}]}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path), HandlerEnvironment(console=ConsoleWriter(out)))
    assert result.status == "succeeded"
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\x9b" not in printed
    assert "␛]52;c;SGVsbG8=␇" in printed
    assert (result.run_dir / "streams" / "evil.txt").read_bytes().decode("utf-8") == HOSTILE
