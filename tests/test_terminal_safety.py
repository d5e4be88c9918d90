"""The wizard in a real terminal emulator (tmux) against the lab's hostile hosts.

Remote text that reaches a terminal raw can clear the screen, rename the window (OSC 2) or write
the clipboard (OSC 52). tmux interprets all three, so it is the witness: after a receive check of
hostile domains the pane title and tmux's paste buffers must be untouched, the screen must show the
sequences as visible escapes and markup as literal text, and the app must still answer keys.
A positive control first proves that this tmux really obeys those sequences.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tmux_driver

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

ROOT = Path(__file__).resolve().parents[1]
SENTINEL = "mxw-sentinel-title"


class Tmux(tmux_driver.Tmux):
    """The shared driver, waiting for plain text on the screen."""

    def __init__(self, name: str) -> None:
        super().__init__("mxw-test", name)

    def wait_for(self, text: str, target: str = "app", timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(target)
            if text in _flat(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")
            time.sleep(0.2)


def _flat(screen: str) -> str:
    """The screen as one string, with Textual's own line wrapping and gutters undone."""
    return "".join(line.strip().lstrip("▊▕").strip() for line in screen.splitlines())


@pytest.fixture
def tmux(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    server = Tmux(request.node.name[5:25])
    server("-f", "/dev/null", "new-session", "-d", "-s", "control", "-x", "80", "-y", "24", "sleep 120")
    server("set", "-g", "set-clipboard", "on")
    try:
        yield server
    finally:
        server("kill-server", check=False)


def _check_receive(tmux: Tmux, domain: str) -> None:
    """From the welcome screen: the receive form, the domain typed in, the check run.

    With a fresh config, lab mode fills the domain with the first receive scenario, and the form
    starts in the domain field (the first field that must be filled in).
    """
    tmux.keys("2")
    assert _field_showing(tmux, "healthy.test") == "Your domain", tmux.screen()
    time.sleep(0.5)  # let the form settle its focus before typing
    tmux.keys("End", "C-u")  # Textual's Input: ctrl+u deletes everything left of the cursor
    # the app has taken the keys (the field is empty, its placeholder shows) before we type on
    assert _domain_field_is(tmux, "example.org"), tmux.screen()
    typed = ""
    for label in domain.split("."):  # a label at a time, each one seen on the screen
        piece = f".{label}" if typed else label
        tmux.type(piece)
        typed += piece
        assert _field_showing(tmux, typed) == "Your domain", tmux.screen()
    tmux.keys("Enter")


def _domain_field_is(tmux: Tmux, text: str) -> bool:
    """Whether the form's domain field shows exactly ``text`` (waiting up to 20 s for it)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in tmux.screen().splitlines():
            if line.strip().startswith("Your domain") and line.split()[-1] == text:
                return True
        time.sleep(0.2)
    return False


def _field_showing(tmux: Tmux, text: str) -> str | None:
    deadline = time.monotonic() + 20  # a loaded machine may take seconds to echo keys
    while time.monotonic() < deadline:
        for line in tmux.screen().splitlines():
            label = line.strip().split("  ")[0]
            if label in ("Your domain", "Mailbox to try (optional)") and line.rstrip().endswith(text):
                return label
        time.sleep(0.2)
    return None


def test_positive_control_this_tmux_obeys_title_and_clipboard_sequences(tmux: Tmux) -> None:
    tmux("new-window", "-t", "control", "-n", "witness",
         "printf '\\033]2;control-title\\007\\033]52;c;b3duZWQ=\\007'; sleep 30")
    deadline = time.monotonic() + 10
    while tmux("display", "-p", "-t", "control:witness", "#{pane_title}").strip() != "control-title":
        assert time.monotonic() < deadline, "tmux did not take the OSC 2 title"
        time.sleep(0.1)
    assert tmux("list-buffers").strip(), "tmux did not take the OSC 52 clipboard write"


def _start_app(tmux: Tmux, session: str, config: Path) -> None:
    """The wizard against the lab in a fresh session (a fresh config: no remembered form values)."""
    config.mkdir()
    command = f"cd {ROOT} && XDG_CONFIG_HOME={config} exec {sys.executable} -m mxwizard --lab"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    tmux("select-pane", "-t", session, "-T", SENTINEL)
    tmux.wait_for("Pick what is going wrong", target=session)


def _back_and_quit(tmux: Tmux) -> None:
    """Escape twice to the start, then q: the app must follow each key and end."""
    tmux.keys("Escape")
    tmux.wait_for("Which domain should receive mail?")
    tmux.keys("Escape")
    tmux.wait_for("Pick what is going wrong")
    tmux.keys("q")
    deadline = time.monotonic() + 15
    while "app" in tmux("list-sessions", "-F", "#{session_name}", check=False).split():
        assert time.monotonic() < deadline, "the app did not quit on q"
        time.sleep(0.2)


def _untouched(tmux: Tmux) -> None:
    assert tmux("display", "-p", "-t", "app", "#{pane_title}").strip() == SENTINEL
    assert tmux("list-buffers").strip() == "", "a clipboard write got through"


def test_terminal_control_sequences_are_shown_escaped(tmux: Tmux, tmp_path: Path) -> None:
    _start_app(tmux, "app", tmp_path / "config")
    _check_receive(tmux, "hostile-escapes.test")
    tmux.wait_for("says postmaster@hostile-escapes.test does")
    tmux.keys("Escape")
    tmux.wait_for("Transcript (t)")
    tmux.keys("t", "z", "Home")
    shown = _flat(tmux.wait_for("pwned-title"))
    assert "\\e[2J" in shown and "\\e]2;pwned-title\\x07" in shown
    assert "\\e]52;c;b3duZWQ=\\x07" in shown and "\\u202e" in shown
    _untouched(tmux)
    _back_and_quit(tmux)
    assert tmux("list-buffers").strip() == "", "nothing reached the clipboard on the way out either"


def test_markup_in_replies_is_shown_as_text(tmux: Tmux, tmp_path: Path) -> None:
    _start_app(tmux, "app", tmp_path / "config")
    _check_receive(tmux, "hostile-markup.test")
    tmux.wait_for("says postmaster@hostile-markup.test does")
    tmux.keys("Escape")
    tmux.wait_for("Transcript (t)")
    tmux.keys("t", "z", "Home")
    shown = _flat(tmux.wait_for("[@click=app.quit]"))
    assert "[bold red]URGENT[/]" in shown and "[$accent]accent[/]" in shown
    _untouched(tmux)
    _back_and_quit(tmux)
