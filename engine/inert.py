"""Text made inert for a terminal: control characters shown, never obeyed.

Model answers, tool output and workflow names are hostile until checked: an escape sequence in them
could clear the screen, set the window title or write the clipboard (OSC 52). Before any of them
reaches a terminal, C0 and C1 control characters (newline and tab excepted) become visible symbols
(ESC is shown as ␛). Files keep the bytes as received; only what is drawn is changed.
"""

from __future__ import annotations

# C0 controls map to the Unicode "control pictures" (U+2400 + code), DEL to U+2421, C1 to U+FFFD.
_INERT = {code: 0x2400 + code for code in range(0x20) if chr(code) not in "\n\t"}
_INERT[0x7F] = 0x2421
_INERT.update({code: 0xFFFD for code in range(0x80, 0xA0)})


def inert_text(text: str) -> str:
    """`text` with every control character but newline and tab replaced by a visible symbol."""
    if text.isprintable():  # the common case, checked in C
        return text
    return text.translate(_INERT)
