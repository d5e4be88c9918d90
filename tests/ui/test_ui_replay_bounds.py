"""The wizard with large and awkward session files, at 80×24: a file of 200,000 lines loads in a
worker with its progress shown while the dialog keeps answering keys (Escape abandons the load),
the lesson then steps through its first lines only, and saving or exporting over an existing file
asks first and never writes through a planted link."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Static

from mxwizard.core.settings import Settings
from mxwizard.replay.session_files import parse_session
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.export import ExportScreen
from mxwizard.ui.screens.lesson_files import OpenSessionScreen, SaveSessionScreen
from mxwizard.ui.screens.replay import LESSON_LINES, ReplayScreen

SIZE = (80, 24)


def flat(text: str) -> str:
    return " ".join(text.replace("▊", " ").split())


def status(app: WizardApp, selector: str) -> str:
    """The text of a dialog's status line (it wraps inside the dialog's border on screen)."""
    return " ".join(str(app.screen.query_one(selector, Static).render()).split())


def long_reply_session(lines: int) -> dict[str, object]:
    """A session whose RCPT is answered by one reply of ``lines`` lines."""
    reply = [{"t_ms": 3, "dir": "S", "text": f"550{'-' if i < lines - 1 else ' '}5.7.1 line {i} refused"}
             for i in range(lines)]
    return {"kind": "receive", "target": {"domain": "large.test"}, "transcripts": [
        {"host": "mx.large.test", "ip": "127.0.0.1", "port": 25, "lines": [
            {"t_ms": 0, "dir": "S", "text": "220 mx.large.test ESMTP"},
            {"t_ms": 1, "dir": "C", "text": "RCPT TO:<postmaster@large.test>"}, *reply]}]}


async def wait_for(pilot: Any, condition: Any, seconds: float = 60.0) -> None:
    """Pause until ``condition()`` holds; the bound only proves that nothing hung."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        await pilot.pause(0.05)


async def test_the_dialog_answers_keys_while_a_large_file_loads(read_screen: Any, tmp_path: Path) -> None:
    """Keys are sent the way a terminal sends them, without Pilot's wait for an idle process
    (which would wait for the load itself); each check waits for its key, never for a time."""
    path = tmp_path / "large.json"
    path.write_text(json.dumps(long_reply_session(199_990)))
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5", "o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, OpenSessionScreen)
        field = dialog.query_one("#open-path", Input)
        field.value = "large.json"
        field.focus()
        app.simulate_key("enter")
        await wait_for(pilot, lambda: dialog.load_under_way is not None)
        assert dialog.has_class("-loading")  # the progress bar shows while it loads

        # a key typed meanwhile is handled at once: the load is still under way afterwards
        app.post_message(events.Key("x", "x"))
        await wait_for(pilot, lambda: field.value.endswith("x"))
        assert dialog.load_under_way is not None and app.screen is dialog
        assert "Loading large.json" in flat(read_screen(app))
        app.simulate_key("escape")  # abandons the load; the dialog stays
        await wait_for(pilot, lambda: dialog.load_under_way is None)
        assert app.screen is dialog and not dialog.has_class("-loading")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is dialog  # the abandoned load opened nothing
        assert "Stopped loading" in flat(read_screen(app))

        # left alone, it loads, and the lesson steps through its first lines only
        field.value = "large.json"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        assert len(screen.lines) == LESSON_LINES and screen.left_out == 199_992 - LESSON_LINES
        assert screen.session.line_count == 199_992  # saving keeps every line
        # the screen is pushed before it is drawn: wait for its text, as for every other check
        await wait_for(pilot, lambda: f"the lesson shows the first {LESSON_LINES}" in flat(read_screen(app)))
        await pilot.press("space", "space")  # the greeting, then RCPT with its (cut) reply
        await pilot.pause()
        assert screen.shown == LESSON_LINES


async def test_saving_a_session_over_a_file_asks_first(tmp_path: Path) -> None:
    session = parse_session(json.dumps(long_reply_session(3)))
    existing = tmp_path / "kept.json"
    existing.write_text("old\n")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep\n")
    (tmp_path / "planted.json").symlink_to(elsewhere)
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.push_screen(SaveSessionScreen(session))
        await pilot.pause()
        field = app.screen.query_one("#save-path", Input)
        field.value = "planted.json"
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert "planted.json is a link, folder or device" in status(app, "#save-status")
        assert elsewhere.read_text() == "keep\n"
        field.value = "kept.json"
        await pilot.press("enter")
        await pilot.pause()
        assert "kept.json already exists. Enter again replaces it" in status(app, "#save-status")
        assert existing.read_text() == "old\n"
        await pilot.press("enter")
        await pilot.pause()
        assert "Saved to" in status(app, "#save-status")
        assert json.loads(existing.read_text())["target"] == {"domain": "large.test"}


async def test_exporting_over_a_file_asks_first(make_plan: Any, tmp_path: Path) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        name = app.screen.query_one("#export-path", Input).value
        (tmp_path / name).write_text("mine\n")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert f"{name} already exists. Save again replaces it" in status(app, "#export-status")
        assert (tmp_path / name).read_text() == "mine\n"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Saved to" in status(app, "#export-status")
        assert (tmp_path / name).read_text().startswith("# ")
