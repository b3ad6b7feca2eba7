"""What one step's pane shows: its stream as styled, word-wrapped rows, bounded, kept outside any widget.

Appending text re-wraps only the last row of the open line (greedy wrapping never moves an earlier
break), so a flush costs the new text, not the whole answer. The oldest rows are dropped past
`max_rows`; the full text is in the run folder.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import StrEnum

from rich.cells import cell_len

from engine.inert import inert_text

# A line longer than this is broken by force, so wrapping the open line stays cheap however long it gets.
MAX_LINE_CHARS = 4096
# How much of the answer is kept to render as Markdown once the step ends (past it: raw rows only).
MAX_ANSWER_CHARS = 200_000


class Kind(StrEnum):
    """What a block of the stream is; the pane styles each kind through a component class."""

    TEXT = "text"
    THINKING = "thinking"
    TOOL_CALL = "tool-call"
    TOOL_RESULT = "tool-result"
    TOOL_ERROR = "tool-error"
    NOTICE = "notice"
    ERROR = "error"
    FOLDED = "folded"  # what a failed attempt streamed, folded into one dimmed row


def wrap_line(line: str, width: int, offset: int = 0) -> tuple[list[str], int]:
    """Greedy word wrap of `line[offset:]` to `width` cells; also where (in `line`) the last row starts.

    A word longer than the width is cut.
    """
    width = max(width, 1)
    rows: list[str] = []
    rest = line[offset:] if offset else line
    ascii_only = rest.isascii()
    while (len(rest) if ascii_only else cell_len(rest)) > width:
        cut = width if ascii_only else _cut_at_cells(rest, width)
        space = rest.rfind(" ", 0, cut + 1)
        if space > 0:
            rows.append(rest[:space])
            rest = rest[space + 1 :]
            offset += space + 1
        else:
            rows.append(rest[:cut])
            rest = rest[cut:]
            offset += cut
    rows.append(rest)
    return rows, offset


def _cut_at_cells(line: str, width: int) -> int:
    used = 0
    for index, char in enumerate(line):
        used += cell_len(char)
        if used > width:
            return max(index, 1)
    return len(line)


def _clean(text: str) -> str:
    """Text as a pane draws it: tabs as spaces, and every control character (an escape sequence from the
    model could clear the screen or write the clipboard) shown, never sent to the terminal."""
    return inert_text(text.replace("\r", "").replace("\t", "    "))


@dataclass
class Block:
    """A run of stream of one kind: logical lines (the last one open) and their rows at the current width."""

    kind: Kind
    lines: list[str] = field(default_factory=lambda: [""])
    rows: list[str] = field(default_factory=list)
    # Rows produced by the open (last) line: the only ones an append can change.
    open_rows: int = 0
    # Where the open line's last row starts in that line: the re-wrap starts there.
    tail_start: int = 0
    closed: bool = False


@dataclass(frozen=True)
class Mark:
    """Where a model turn began, so a retried attempt can drop what it streamed."""

    block: int  # absolute block number (counting blocks trimmed away)
    lines: int
    last_line_chars: int
    answer_chars: int


class Transcript:
    """The rows of one step's pane; the widget reads `row(i)` and never holds the text itself."""

    def __init__(self, width: int = 80, max_rows: int = 2000) -> None:
        self.width = max(width, 1)
        self.max_rows = max_rows
        self.blocks: list[Block] = []
        self.collapse_thinking = False
        self.version = 0
        self._trimmed_blocks = 0
        self._starts: list[int] = []
        self._starts_valid = True
        self._total_rows = 0
        self._mark: Mark | None = None
        self._answer: list[str] = []
        self._answer_chars = 0
        self.answer_overflowed = False
        # The first row that changed since `take_changed_from` was last called (rows after it may too).
        self._changed_from: int | None = None

    # -- reading ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._total_rows

    def row(self, index: int) -> tuple[str, Kind]:
        if not self._starts_valid:
            self._rebuild_starts()
        block_index = bisect_right(self._starts, index) - 1
        block = self.blocks[block_index]
        return block.rows[index - self._starts[block_index]], block.kind

    @property
    def answer(self) -> str:
        """The step's answer text (all turns, retried attempts dropped), for the Markdown view."""
        return inert_text("".join(self._answer))

    def take_changed_from(self) -> int | None:
        """The first row changed since the last call (None: nothing changed), and start afresh."""
        changed, self._changed_from = self._changed_from, None
        return changed

    def _changed(self, row: int) -> None:
        if self._changed_from is None or row < self._changed_from:
            self._changed_from = row

    def plain_text(self) -> str:
        """Everything the pane holds, as text (thinking included), for copying."""
        return "\n\n".join("\n".join(block.lines) for block in self.blocks)

    # -- writing ------------------------------------------------------------------------------------

    def append(self, kind: Kind, text: str) -> None:
        """Stream text of `kind`; it continues the last block when that block is open and of the same kind."""
        if not text:
            return
        if kind is Kind.TEXT and not self.answer_overflowed:
            if self._answer_chars + len(text) > MAX_ANSWER_CHARS:
                self.answer_overflowed = True
                self._answer.clear()
            else:
                self._answer.append(text)
                self._answer_chars += len(text)
        last = self.blocks[-1] if self.blocks else None
        if last is None or last.closed or last.kind is not kind:
            last = Block(kind)
            self._add_block(last)
        parts = _clean(text).split("\n")
        before = len(last.rows)
        # Only the open line's last row and the rows after it can change.
        self._changed(self._total_rows - (1 if last.open_rows else 0))
        last.lines[-1] += parts[0]
        last.lines.extend(parts[1:])
        self._rewrap_open_tail(last, new_lines=len(parts) - 1)
        self._total_rows += len(last.rows) - before
        self._after_change()

    def add_block(self, kind: Kind, text: str) -> None:
        """A whole closed block: a tool call, a tool result, a notice."""
        block = Block(kind, lines=_clean(text).split("\n"), closed=True)
        self._wrap_block(block)
        self._changed(self._total_rows)
        self._add_block(block)
        self._total_rows += len(block.rows)
        self._after_change()

    def mark(self) -> None:
        last = self.blocks[-1] if self.blocks else None
        self._mark = Mark(
            block=self._trimmed_blocks + len(self.blocks) - (1 if last else 0),
            lines=len(last.lines) if last else 0,
            last_line_chars=len(last.lines[-1]) if last else 0,
            answer_chars=self._answer_chars,
        )

    def rewind(self, folded: str = "") -> None:
        """Drop everything streamed since the last mark (a retried attempt starts over); `folded`, when
        given, is the one row that stands for the dropped text."""
        mark = self._mark or Mark(0, 0, 0, 0)
        self._cut_answer(mark.answer_chars)
        keep = mark.block - self._trimmed_blocks
        if keep < 0:
            self.blocks.clear()
        else:
            del self.blocks[keep + 1 :]
            if keep < len(self.blocks):
                block = self.blocks[keep]
                if mark.lines == 0:
                    del self.blocks[keep]
                else:
                    del block.lines[mark.lines :]
                    block.lines[-1] = block.lines[-1][: mark.last_line_chars]
                    self._wrap_block(block)
        self._total_rows = sum(len(block.rows) for block in self.blocks)
        self._starts_valid = False
        self._changed(0)
        if folded:
            self.add_block(Kind.FOLDED, folded)
        self._after_change()

    def set_width(self, width: int) -> None:
        width = max(width, 1)
        if width != self.width:
            self.width = width
            self.rewrap()

    def toggle_thinking(self) -> None:
        self.collapse_thinking = not self.collapse_thinking
        self.rewrap()

    def rewrap(self) -> None:
        for block in self.blocks:
            self._wrap_block(block)
        self._total_rows = sum(len(block.rows) for block in self.blocks)
        self._starts_valid = False
        self._changed(0)
        self.version += 1

    # -- internals ----------------------------------------------------------------------------------

    def _add_block(self, block: Block) -> None:
        if self.blocks:
            self.blocks[-1].closed = True
        self._starts.append(self._total_rows)
        self.blocks.append(block)

    def _collapsed(self, block: Block) -> bool:
        return self.collapse_thinking and block.kind is Kind.THINKING

    def _thinking_summary(self, block: Block) -> str:
        count = len(block.lines)
        return f"▸ thinking ({count} line{'s' if count != 1 else ''}, t to expand)"

    def _wrap_block(self, block: Block) -> None:
        if self._collapsed(block):
            block.rows = [self._thinking_summary(block)]
            block.open_rows = block.tail_start = 0
            return
        rows: list[str] = []
        for line in block.lines:
            wrapped, block.tail_start = wrap_line(line, self.width)
            rows.extend(wrapped)
        block.rows = rows
        block.open_rows = len(wrapped)

    def _rewrap_open_tail(self, block: Block, new_lines: int) -> None:
        """Re-wrap the open line from its last row on, plus any lines that just started."""
        if self._collapsed(block):
            block.rows = [self._thinking_summary(block)]
            return
        if len(block.lines[-1]) > MAX_LINE_CHARS:
            # A line that grew past the limit is broken by force, so the open line stays short.
            overlong = block.lines.pop()
            block.lines.extend(
                overlong[i : i + MAX_LINE_CHARS] for i in range(0, len(overlong), MAX_LINE_CHARS)
            )
            self._wrap_block(block)
            return
        grown = len(block.lines) - 1 - new_lines
        settled = 0
        if block.open_rows:
            # Earlier rows of the open line keep their breaks; only its last row can change.
            block.rows.pop()
            settled = block.open_rows - 1
        rows, block.tail_start = wrap_line(block.lines[grown], self.width, block.tail_start)
        block.rows.extend(rows)
        block.open_rows = settled + len(rows)
        for line in block.lines[grown + 1 :]:
            rows, block.tail_start = wrap_line(line, self.width)
            block.rows.extend(rows)
            block.open_rows = len(rows)

    def _cut_answer(self, chars: int) -> None:
        if self.answer_overflowed or chars >= self._answer_chars:
            return
        text = "".join(self._answer)[:chars]
        self._answer = [text]
        self._answer_chars = chars

    def _rebuild_starts(self) -> None:
        starts = []
        total = 0
        for block in self.blocks:
            starts.append(total)
            total += len(block.rows)
        self._starts = starts
        self._starts_valid = True

    def _after_change(self) -> None:
        self.version += 1
        if self._total_rows > self.max_rows + self.max_rows // 4:
            self._trim()

    def _trim(self) -> None:
        """Drop whole old blocks (and old lines of a huge first block) until back under `max_rows`."""
        excess = self._total_rows - self.max_rows
        while excess > 0 and len(self.blocks) > 1 and len(self.blocks[0].rows) <= excess:
            excess -= len(self.blocks[0].rows)
            self._total_rows -= len(self.blocks[0].rows)
            del self.blocks[0]
            self._trimmed_blocks += 1
        if excess > 0 and self.blocks:
            first = self.blocks[0]
            dropped_rows = 0
            while len(first.lines) > 1 and dropped_rows < excess:
                dropped_rows += len(wrap_line(first.lines.pop(0), self.width)[0])
            before = len(first.rows)
            self._wrap_block(first)
            self._total_rows += len(first.rows) - before
            if self._mark is not None and self._mark.block == self._trimmed_blocks:
                # The mark's lines moved up; a rewind past them now drops the whole block.
                self._mark = Mark(self._mark.block - 1, 0, 0, self._mark.answer_chars)
        self._starts_valid = False
        self._changed(0)  # every row moved up
