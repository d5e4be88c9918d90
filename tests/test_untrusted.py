"""The sanitiser: remote text can neither drive the terminal nor hide what it says."""

from __future__ import annotations

from mxwizard.core.untrusted import visible, visible_bytes


def test_terminal_sequences_become_visible() -> None:
    hostile = "220 \x1b[2J\x1b]2;pwned\x07 \x1b]52;c;ZXZpbA==\x07 ok\x9b31m"
    shown = visible(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\\e[2J" in shown and "\\x07" in shown and "\\x9b" in shown


def test_bidi_override_and_zero_width_are_escaped() -> None:
    shown = visible("admin\u202etxt.exe\u200b")
    assert "\u202e" not in shown and "\u200b" not in shown
    assert "\\u202e" in shown


def test_non_utf8_bytes_are_shown_as_hex() -> None:
    assert visible_bytes(b"250 caf\xe9") == "250 caf\\xe9"


def test_length_is_capped_and_the_cut_is_marked() -> None:
    shown = visible("x" * 10_000, limit=100)
    assert len(shown) < 120
    assert shown.endswith("…(+9900)")


def test_plain_text_and_unicode_letters_pass_unchanged() -> None:
    assert visible("250 mx.bücher.example Grüße [bold]") == "250 mx.bücher.example Grüße [bold]"
