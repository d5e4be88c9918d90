"""The wizard in the terminals newcomers really have: 16 colours, and 60 columns by 18 rows.

A terminal that says TERM=xterm (and no COLORTERM) gets 16 colours: every colour of the theme is
reduced to the nearest of them, and shades that differ in true colour become one. Pilot cannot show
that reduction (its screen is never a terminal), so those tests run the real wizard in tmux, the
way a user would, and read the colours tmux received (``capture-pane -e``): input fields must show
a box, FAIL and pass must differ by glyph and by colour, and the checkbox must show its state by
more than a shade. The small-terminal tests are Pilot tests at 60×18: every key of the key bar and
every tab label must be there in full, on every screen the newcomer passes through, and every
dialog must fit on the screen.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tmux_driver
from mxwizard.core.settings import Settings
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.screens.welcome import WelcomeScreen
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.tabline import TabLine

ROOT = Path(__file__).resolve().parents[2]
SMALL = (60, 18)


# --- 16 colours, in a real terminal (tmux) ---------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One character cell as the terminal holds it: the character and its colours, each one of
    the 16 (0 black ... 7 white, 8 bright black ... 15 bright white) or ``"default"``."""

    char: str
    fg: int | str
    bg: int | str


_SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def _hue(colour: int | str) -> int | str:
    """The colour family: bright red (9) is red (1), as red is; ``default`` stays itself."""
    return colour % 8 if isinstance(colour, int) else colour


def parse_screen(capture: str) -> list[list[Cell]]:
    """The cells of every row of ``capture-pane -e`` output (SGR sequences only; tmux carries the
    attributes over from one row to the next; reverse video swapped in, so ``fg`` and ``bg`` are
    what the eye sees)."""
    rows: list[list[Cell]] = []
    fg: int | str = "default"
    bg: int | str = "default"
    reverse = False
    for line in capture.splitlines():
        cells: list[Cell] = []
        position = 0
        for match in _SGR.finditer(line + "\x1b[39m"):  # a no-op at the end flushes the text
            for char in line[position:match.start()]:
                cells.append(Cell(char, bg, fg) if reverse else Cell(char, fg, bg))
            position = match.end()
            for param in re.split("[;:]", match.group(1)):
                value = int(param or 0)
                if value == 0:
                    fg, bg, reverse = "default", "default", False
                elif value == 7:
                    reverse = True
                elif value == 27:
                    reverse = False
                elif 30 <= value <= 37 or 90 <= value <= 97:
                    fg = value - 30 if value < 90 else value - 82
                elif value == 39:
                    fg = "default"
                elif 40 <= value <= 47 or 100 <= value <= 107:
                    bg = value - 40 if value < 100 else value - 92
                elif value == 49:
                    bg = "default"
                elif value in (38, 48):  # 256 or true colour: not what a 16-colour terminal gets
                    raise AssertionError(f"a colour beyond 16 colours reached the terminal: {line!r}")
        rows.append(cells)
    return rows


def _text(cells: list[Cell]) -> str:
    return "".join(cell.char for cell in cells)


class Tmux(tmux_driver.Tmux):
    """The shared driver with the wizard in it, reading the screen cell by cell with colours."""

    def __init__(self, name: str) -> None:
        super().__init__("mxw-small", name)

    def rows(self) -> list[list[Cell]]:
        """The screen, cell by cell, with colours."""
        return parse_screen(self("capture-pane", "-p", "-e", "-t", "app"))

    def wait_until(self, what: str, test: Any, timeout: float = 40) -> list[list[Cell]]:
        """The screen, as soon as ``test(rows)`` holds (never a fixed sleep: a loaded machine may
        take seconds to start the lab or to echo a key)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows()
            if test(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never happened; the screen:\n{self.screen()}")
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 40) -> list[list[Cell]]:
        return self.wait_until(repr(text), lambda rows: any(text in _text(r) for r in rows), timeout)


@pytest.fixture
def xterm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tmux]:
    """The wizard with the lab, at 80×24, in a terminal that says it is an xterm (16 colours)."""
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    server = Tmux(request.node.name[5:30])
    config = tmp_path / "config"
    config.mkdir()
    command = (f"cd {ROOT} && exec env -u COLORTERM -u NO_COLOR -u TEXTUAL_COLOR_SYSTEM TERM=xterm "
               f"XDG_CONFIG_HOME={config} {sys.executable} -m mxwizard --lab")
    server("-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "80", "-y", "24", command)
    try:
        server.wait_for("Pick what is going wrong")
        yield server
    finally:
        server("kill-server", check=False)


def _row_with(rows: list[list[Cell]], text: str) -> list[Cell]:
    found = [row for row in rows if text in _text(row)]
    assert found, f"no row shows {text!r}"
    return found[0]


def _field_box(row: list[Cell], label: str, value: str) -> tuple[list[Cell], list[Cell]]:
    """A form row's label cells, and its input's cells from the value to the end of the row."""
    text = _text(row)
    start = text.index(label)
    value_at = text.index(value, start + len(label))
    return row[start:start + len(label)], row[value_at:]


def _input_is_boxed(row: list[Cell], label: str, value: str) -> None:
    labels, field = _field_box(row, label, value)
    screen_bg = {cell.bg for cell in labels}
    # the whole field, past the text too, stands out from the screen around its label
    empty = field[len(value) + 1:len(value) + 21]
    assert len(empty) == 20, f"the field is too short: {_text(field)!r}"
    assert all(cell.bg not in screen_bg for cell in empty), (
        f"the field {label!r} has no box: its empty cells have the screen's background "
        f"{screen_bg} ({[c.bg for c in empty]})")
    text = field[:len(value)]
    assert all(cell.fg != cell.bg for cell in text), f"the text of {label!r} is invisible"


def _tick(rows: list[list[Cell]]) -> Cell:
    """The inside of the private-network checkbox (between ▐ and ▌)."""
    row = _row_with(rows, "Private network I control")
    text = _text(row)
    return row[text.index("▐") + 1]


def _cursor_at(rows: list[list[Cell]], text: str, offset: int = 0) -> bool:
    """Whether the input field showing ``text`` has the cursor ``offset`` cells into it (the
    cursor is a cell coloured unlike the one after it; it blinks, so callers wait for it)."""
    found = [row for row in rows if text in _text(row)]
    if not found:
        return False
    row = found[0]
    at = _text(row).index(text) + offset
    return at + 1 < len(row) and row[at].bg != row[at + 1].bg


def _open_receive_form(xterm: Tmux) -> list[list[Cell]]:
    """From the welcome screen to the receive form, filled in from the lab, with the cursor at
    the end of the domain: the form has its focus and takes keys from now on."""
    xterm.keys("2")
    return xterm.wait_until("the receive form with its focus",
                            lambda rows: _cursor_at(rows, "healthy.test", len("healthy.test")))


def _label_highlighted(rows: list[list[Cell]], text: str) -> bool:
    """Whether ``text`` is highlighted (focused): on a background other than the screen's."""
    row = _row_with(rows, text)
    at = _text(row).index(text)
    return all(cell.bg != row[0].bg for cell in row[at:at + len(text)])


def _looks_ticked(cell: Cell) -> bool:
    return cell.char.strip() != "" and cell.fg != cell.bg and _hue(cell.fg) != _hue(cell.bg)


def _looks_empty(cell: Cell) -> bool:
    return cell.char.strip() == "" or cell.fg == cell.bg


def test_16_colours_input_fields_have_a_box(xterm: Tmux) -> None:
    rows = _open_receive_form(xterm)
    _input_is_boxed(_row_with(rows, "Your domain"), "Your domain", "healthy.test")  # focused
    mailbox = _row_with(rows, "Mailbox to try")
    _input_is_boxed(mailbox, "Mailbox to try (optional)", "postmaster@example.org")  # a placeholder


def test_16_colours_the_checkbox_shows_its_state_by_more_than_a_shade(xterm: Tmux) -> None:
    off = _tick(_open_receive_form(xterm))
    xterm.keys("Tab")  # a key at a time, each one seen to arrive before the next
    xterm.wait_until("the mailbox field focused", lambda rows: _cursor_at(rows, "postmaster@"))
    xterm.keys("Tab")
    xterm.wait_until("the checkbox focused",
                     lambda rows: _label_highlighted(rows, "Private network I control"))
    xterm.keys("Space")
    on = _tick(xterm.wait_until("the tick", lambda rows: _tick(rows) != off))
    assert _looks_empty(off), f"an unticked box must look empty, not show {off}"
    assert _looks_ticked(on), f"a ticked box must show its mark in its own colour: {on}"


def _badge(rows: list[list[Cell]], glyph: str, word: str) -> tuple[str, int | str]:
    """The glyph and the colour family of the first status badge ``glyph word`` on the screen."""
    for row in rows:
        text = _text(row)
        at = text.find(f"{glyph} {word}")
        if at >= 0:
            colours = {_hue(cell.fg) for cell in row[at:at + len(word) + 2] if cell.char != " "}
            assert len(colours) == 1, f"the badge {glyph} {word} is in several colours: {colours}"
            background = _hue(row[at].bg)
            colour = colours.pop()
            assert colour != background, f"the badge {glyph} {word} is invisible"
            return glyph, colour
    raise AssertionError(f"no {glyph} {word} badge on the screen")


def test_16_colours_fail_and_pass_differ_by_glyph_and_by_colour(xterm: Tmux) -> None:
    _open_receive_form(xterm)
    xterm.keys("End", "C-u")  # Textual's Input: ctrl+u deletes everything left of the cursor
    xterm.wait_until("an empty domain field",
                     lambda rows: "healthy.test" not in "".join(_text(r) for r in rows))
    xterm.type("notaccepted.test")
    xterm.wait_for("notaccepted.test")
    xterm.keys("Enter")
    rows = xterm.wait_for("Can mail reach notaccepted.test?", timeout=90)
    fail = _badge(rows, "✖", "FAIL")  # the verdict's headline
    xterm.keys("Escape")  # the details: the steps, passed and failed, side by side
    rows = xterm.wait_until("the steps with their statuses",
                            lambda r: any("✔ pass" in _text(row) for row in r)
                            and any("✖ FAIL" in _text(row) for row in r))
    passed, failed = _badge(rows, "✔", "pass"), _badge(rows, "✖", "FAIL")
    assert failed == fail
    assert passed[0] != failed[0], "FAIL and pass need two glyphs"
    assert passed[1] != failed[1], (
        f"FAIL and pass are the same colour in 16 colours (colour family {passed[1]})")


# --- 60 columns by 18 rows ---------------------------------------------------------------------

def shown_keys(app: WizardApp) -> list[str]:
    """``key description`` for every key the screen in front puts in its key bar."""
    screen = app.screen
    shown = [b.binding for b in screen.active_bindings.values() if b.binding.show]
    palette = screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
    if palette is not None:
        shown.append(palette.binding)
    keys: dict[str, str] = {}
    for binding in shown:
        keys.setdefault(binding.action, f"{app.get_key_display(binding)} {binding.description}")
    return list(keys.values())


def screen_rows(app: WizardApp) -> list[str]:
    strips = app.screen._compositor.render_strips()
    return [strip.text for strip in strips]


def assert_key_bar_complete(app: WizardApp) -> None:
    rows = screen_rows(app)
    bar = app.screen.query_one(KeyBar).region
    assert bar.bottom <= len(rows), f"the key bar is below the screen: {bar}"
    lines = rows[bar.y:bar.bottom]
    missing = [key for key in shown_keys(app) if not any(key in line for line in lines)]
    assert not missing, f"keys cut off the key bar: {missing}\n" + "\n".join(lines)


async def _screen_at_60x18(pilot: Any, which: str, plan: Any) -> None:
    app = pilot.app
    await pilot.pause()
    if which == "form":
        await pilot.press("1")  # the send form: the most fields and keys
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
    elif which in ("details", "verdict"):
        app.start_diagnosis("My mail is rejected or lost", plan)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        if which == "details":
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DiagnosisScreen)
    else:
        assert isinstance(app.screen, WelcomeScreen)
    await pilot.pause()


@pytest.mark.parametrize("which", ["welcome", "form", "details", "verdict"])
async def test_60x18_every_key_of_the_key_bar_is_visible(which: str, make_plan: Any) -> None:
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SMALL) as pilot:
        await _screen_at_60x18(pilot, which, make_plan("send"))
        assert_key_bar_complete(app)


async def test_60x18_every_tab_label_of_the_details_is_visible(make_plan: Any) -> None:
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SMALL) as pilot:
        await _screen_at_60x18(pilot, "details", make_plan("send"))
        rows = screen_rows(app)
        tabs = app.screen.query_one(TabLine)
        labels = tabs.labels
        assert len(labels) == 3, labels
        row = " ".join(rows[tabs.region.y:tabs.region.bottom])
        missing = [label for label in labels if label not in row]
        assert not missing, f"tab labels cut: {missing}\n{row!r}"


@pytest.mark.parametrize(("dialog", "box"), [("consent", "#consent-box"), ("export", "#export-box"),
                                             ("help", "#help-box")])
async def test_60x18_dialogs_fit_on_the_screen(dialog: str, box: str, make_plan: Any) -> None:
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SMALL) as pilot:
        if dialog == "consent":
            await pilot.pause()
            await pilot.press("4", *"mail.example.org", "enter")
        else:
            await _screen_at_60x18(pilot, "verdict", make_plan("send"))
            await pilot.press("e" if dialog == "export" else "f1")
        await pilot.pause()
        await pilot.pause()
        shown = app.screen.query_one(box).region
        assert app.screen.region.contains_region(shown), f"{box} is {shown}, the screen {app.size}"


async def test_a_choice_shows_which_option_is_on_by_its_mark(make_plan: Any) -> None:
    """Textual's radio buttons draw ● on every option and tell them apart by colour only: with
    16 colours or NO_COLOR the chosen format could not be seen. Only the option that is on
    carries the mark, before and after the choice moves."""
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _screen_at_60x18(pilot, "verdict", make_plan("send"))
        await pilot.press("e")
        await pilot.pause()
        rows = [row for row in screen_rows(app) if "Markdown" in row or "JSON (for" in row]
        assert len(rows) == 2, rows
        assert ["●" in row for row in rows] == [True, False], rows
        await pilot.press("down", "space")
        await pilot.pause()
        rows = [row for row in screen_rows(app) if "Markdown" in row or "JSON (for" in row]
        assert ["●" in row for row in rows] == [False, True], rows
