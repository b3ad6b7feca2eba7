"""The pane's text store: incremental wrapping, retries dropping their text, bounded rows."""

from __future__ import annotations

import random

from tui.transcript import Kind, Transcript, wrap_line


def rows(transcript: Transcript) -> list[str]:
    return [transcript.row(i)[0] for i in range(transcript.row_count)]


def test_streaming_in_small_chunks_wraps_exactly_like_wrapping_the_whole_text():
    rng = random.Random(7)
    vocabulary = ["river", "a", "delta", "sediment", "x" * 50, "über", "宽字"]
    text = " ".join(rng.choice(vocabulary) for _ in range(400))
    text = text.replace("delta", "delta\n")
    streamed = Transcript(width=33)
    position = 0
    while position < len(text):
        step = rng.randint(1, 9)
        streamed.append(Kind.TEXT, text[position : position + step])
        position += step
    whole = Transcript(width=33)
    whole.append(Kind.TEXT, text)
    assert rows(streamed) == rows(whole)
    assert all(len(row) <= 33 for row in rows(streamed))
    assert streamed.answer == text


def test_a_retry_drops_the_text_since_the_turn_began_and_keeps_the_rest():
    transcript = Transcript(width=40)
    transcript.append(Kind.TEXT, "first turn answer. ")
    transcript.add_block(Kind.TOOL_CALL, "⚙ Read(path=notes.md)")
    transcript.mark()
    transcript.append(Kind.TEXT, "second turn, doomed attempt")
    transcript.append(Kind.THINKING, "hmm")
    transcript.rewind()
    transcript.append(Kind.TEXT, "second turn, good attempt")
    assert rows(transcript) == ["first turn answer. ", "⚙ Read(path=notes.md)", "second turn, good attempt"]
    assert transcript.answer == "first turn answer. second turn, good attempt"


def test_a_retry_within_an_open_line_cuts_that_line_back():
    transcript = Transcript(width=80)
    transcript.append(Kind.TEXT, "kept ")
    transcript.mark()
    transcript.append(Kind.TEXT, "dropped\nalso dropped")
    transcript.rewind()
    transcript.append(Kind.TEXT, "again")
    assert rows(transcript) == ["kept again"]


def test_rows_stay_bounded_over_a_very_long_stream():
    transcript = Transcript(width=40, max_rows=200)
    for i in range(20_000):
        transcript.append(Kind.TEXT, f"token{i} ")
        if i % 50 == 0:
            transcript.append(Kind.TEXT, "\n")
    assert transcript.row_count <= 250
    assert rows(transcript)[-1].startswith("token19")


def test_a_line_without_newlines_is_broken_by_force_and_stays_bounded():
    transcript = Transcript(width=50, max_rows=100)
    for _ in range(100_000):
        transcript.append(Kind.TEXT, "abcdefghij")
    assert transcript.row_count <= 125
    assert max(len(line) for block in transcript.blocks for line in block.lines) <= 4096


def test_collapsed_thinking_is_one_row_and_expands_again():
    transcript = Transcript(width=30)
    transcript.append(Kind.THINKING, "step one\nstep two\nstep three")
    transcript.append(Kind.TEXT, "answer")
    transcript.toggle_thinking()
    assert rows(transcript) == ["▸ thinking (3 lines, t to expand)", "answer"]
    transcript.toggle_thinking()
    assert rows(transcript) == ["step one", "step two", "step three", "answer"]


def test_resizing_rewraps_everything():
    transcript = Transcript(width=80)
    transcript.append(Kind.TEXT, "one two three four five six")
    transcript.set_width(9)
    assert rows(transcript) == ["one two", "three", "four five", "six"]


def test_wrap_line_cuts_words_longer_than_the_width():
    assert wrap_line("abcdefghij klm", 4)[0] == ["abcd", "efgh", "ij", "klm"]
