"""Render every screen of the wizard to ``screens/*.svg``, headless, against the built-in lab.

The SVGs are the README's gallery (the snapshot tests keep their own baselines). Run it from the
repository root after changing a screen:

    .venv/bin/python scripts/render_screens.py [OUTPUT_DIR]

Each picture is taken at 80×24, the size every screen must fit, from one of the lab's scenarios,
so what you see is what a user gets from ``mxwizard --lab``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mxwizard.core.settings import Settings
from mxwizard.ui.app import WizardApp

SIZE = (80, 24)
BOUNCE = """\
This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<bob@example.org>: host mx.example.org[192.0.2.25] said: 550 5.7.25
    The IP address sending this message does not have a PTR record
    (in reply to MAIL FROM command)
"""


async def settle(pilot: Any) -> None:
    """Let workers finish and the screen redraw."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def fill(pilot: Any, selector: str, text: str) -> None:
    """Type ``text`` into a form field, replacing what was there."""
    field = pilot.app.screen.query_one(selector)
    field.value = ""
    field.focus()
    await pilot.press(*text)


Shot = Callable[[Any, Callable[[str], None]], Awaitable[None]]


async def receive_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """Welcome, the receive form, a failing diagnosis with its tabs, the verdict, export, help."""
    snap("01-welcome")
    await pilot.press("2")
    await pilot.pause()
    await fill(pilot, "#field-domain", "badbackup.test")
    snap("02-form-receive")
    await pilot.press("enter")
    await settle(pilot)
    snap("03-verdict")
    await pilot.press("enter")
    await pilot.pause()
    snap("20-finding")
    await pilot.press("escape", "e")
    await pilot.pause()
    snap("04-export")
    await pilot.press("escape", "escape")
    await pilot.pause()
    snap("05-diagnosis-findings")
    await pilot.press("t", "z", "home")
    await pilot.pause()
    snap("06-diagnosis-transcript")
    await pilot.press("d")
    await pilot.pause()
    snap("07-diagnosis-dns")
    await pilot.press("z", "p", *["space"] * 4)
    await pilot.pause()
    snap("15-step-through")
    await pilot.press("escape")
    await pilot.pause()
    await pilot.press("f1")
    await pilot.pause()
    snap("08-help")


async def relay_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """Lessons, the open-relay scenario, the consent question and its verdict."""
    await pilot.press("5")
    await pilot.pause()
    snap("09-lessons")
    names = [s.name for s in pilot.app.scenarios]
    await pilot.press(*["down"] * names.index("open-relay"), "enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    snap("10-relay-consent")
    await pilot.press("y")
    await settle(pilot)
    snap("11-relay-verdict")


async def bounce_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """A pasted bounce, then its explanation."""
    await pilot.press("3")
    await pilot.pause()
    pilot.app.screen.query_one("#bounce-text").text = BOUNCE
    await pilot.pause()
    snap("12-bounce")
    await pilot.press("ctrl+r")
    await pilot.pause()
    snap("13-bounce-explained")


async def send_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """The send form, filled in from the lab's first send scenario."""
    await pilot.press("1")
    await pilot.pause()
    snap("14-form-send")


async def checklist_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """A bulk sender without unsubscribe headers: its send check's sender checklist, the first
    failed rule highlighted."""
    await pilot.press("5")
    await pilot.pause()
    names = [s.name for s in pilot.app.scenarios]
    await pilot.press(*["down"] * names.index("bulk-sender-no-unsubscribe"), "enter")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("k")
    await pilot.pause()
    rows = list(pilot.app.screen.rows.values())
    failed = next((i for i, row in enumerate(rows) if row.status == "fail"), 0)
    await pilot.press(*["down"] * failed)
    await pilot.pause()
    snap("21-checklist")


async def lesson_tour(pilot: Any, snap: Callable[[str], None]) -> None:
    """A lab lesson: its DNS lookups one by one, saving the session, replaying it from Lessons."""
    await pilot.press("5")
    await pilot.pause()
    names = [s.name for s in pilot.app.scenarios]
    await pilot.press(*["down"] * names.index("healthy-domain"), "enter")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("escape", "l", "space", "space", "space")
    await pilot.pause()
    snap("16-dns-lesson")
    await pilot.press("escape", "p", "space", "s")
    await pilot.pause()
    snap("17-save-session")
    await pilot.press("enter")  # saved in the current directory: a temporary one, see render()
    await pilot.pause()
    await pilot.press("escape", "escape", "escape", "escape")
    await pilot.pause()
    await pilot.press("o")
    await pilot.pause()
    await pilot.app.screen.saved_listed.wait()  # the folder is read off the UI thread
    await pilot.pause()
    # the dialog starts on the list of saved sessions, the one just saved highlighted; Tab twice
    # (past the file name it filled in) reaches the speeds
    await pilot.press("tab", "tab", "down", "down", "down", "enter")
    await pilot.pause()
    snap("18-open-session")
    await pilot.press("ctrl+o")
    for _ in range(400):  # a few seconds at most: the lab answers in milliseconds
        if not getattr(pilot.app.screen, "playing", False):
            break
        await pilot.pause(0.05)
    await pilot.pause()
    snap("19-replay-played")


async def render(out: Path) -> list[Path]:
    """Take every picture; returns the files written."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    home = os.getcwd()
    for tour in (receive_tour, relay_tour, bounce_tour, send_tour, checklist_tour,
                 lesson_tour):
        app = WizardApp(Settings(timeout=5), lab=True, remember=False)
        with tempfile.TemporaryDirectory() as scratch:
            os.chdir(scratch)  # files the tours save (a lesson's session) land here
            try:
                async with app.run_test(size=SIZE) as pilot:
                    await app.lab_ready.wait()
                    await pilot.pause()

                    def snap(name: str, app: WizardApp = app) -> None:
                        written.append(Path(app.save_screenshot(f"{name}.svg", str(out))))

                    await tour(pilot, snap)
            finally:
                os.chdir(home)
    return written


def main(argv: list[str]) -> int:
    """Render into ``argv[0]`` (default: ``screens/`` next to this script's parent)."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "screens"
    for path in asyncio.run(render(out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
