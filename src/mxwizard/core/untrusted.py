"""The one sanitiser for text that came from the network or from a pasted bounce.

Banners, replies, TXT records, PTR names and bounce text are written by strangers. They may carry
terminal control sequences (clear screen, OSC 2 window titles, OSC 52 clipboard writes), bidi
overrides that reorder what the reader sees, lone surrogates from non-UTF-8 bytes, or endless
lines. :func:`visible` turns every such character into a visible escape and caps the length, so
the result is safe to print to a terminal. It does not protect against Rich/Textual markup: the UI
must still hand this text to widgets as plain ``Text``/``Content``, never as markup.
"""

from __future__ import annotations

import unicodedata

#: Characters that reorder or hide text (Trojan-source style) although they are "printable".
_BIDI_AND_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)

DEFAULT_LIMIT = 1000


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if ch == "\n":
        return "\\n"
    if ch == "\x1b":
        return "\\e"
    if 0xDC80 <= code <= 0xDCFF:  # surrogate-escaped byte that was not valid UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_safe(ch: str) -> bool:
    if ch in _BIDI_AND_INVISIBLE:
        return False
    category = unicodedata.category(ch)
    # Cc: C0/C1 controls and DEL; Cs: lone surrogates; Cf: format characters; Co/Cn: private or
    # unassigned code points; Zl/Zp: line and paragraph separators that break layouts.
    return category not in {"Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"}


def _plain(ch: str) -> bool:
    """True when ``ch`` is shown as itself (printable ASCII, or a safe non-ASCII character)."""
    return (ch.isascii() and " " <= ch <= "~") or (not ch.isascii() and _is_safe(ch))


def unsafe_character(text: str) -> str | None:
    """The first character of ``text`` that :func:`visible` would escape, or None: how input
    parsers refuse what must never reach the wire or a report (controls, bidi, surrogates)."""
    return next((ch for ch in text if not _plain(ch)), None)


def visible(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """Return ``text`` with every unsafe character escaped and at most ``limit`` characters.

    ``limit`` counts characters of the result; a cut is marked with "…(+N)" so the reader knows
    the server sent more than is shown.
    """
    out: list[str] = []
    length = 0
    for index, ch in enumerate(text):
        piece = ch if _plain(ch) else _escape(ch)
        if length + len(piece) > limit:
            out.append(f"…(+{len(text) - index})")
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


def visible_bytes(data: bytes, limit: int = DEFAULT_LIMIT) -> str:
    """Decode bytes off the wire (UTF-8, bad bytes kept as escapes) and make them visible."""
    return visible(data.decode("utf-8", "surrogateescape"), limit)
