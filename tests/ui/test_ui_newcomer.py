"""The wizard as a newcomer meets it, at 80×24 with arrows, Tab, Enter and Escape only.

Each test is one thing that got in a newcomer's way, seen with the screen text: it fails on the
wizard as it was, and passes once that thing is fixed."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual.widgets import Input

from mxwizard.core.settings import Settings
from mxwizard.lab.world import World, running_lab
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.help import HelpScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.screens.welcome import WelcomeScreen

SIZE = (80, 24)


async def test_help_scrolls_to_its_last_row_with_the_keys_it_names(read_screen: Any) -> None:
    """F1 on the verdict's help: the key table's last rows and the clipboard note are below the
    fold; End (and PgDn) must bring them into view."""
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(HelpScreen("verdict"))
        await pilot.pause()
        assert "export to a file instead" not in read_screen(app)
        await pilot.press("end")
        await pilot.pause()
        assert "export to a file instead" in read_screen(app)
        await pilot.press("home")
        await pilot.pause()
        assert "export to a file instead" not in read_screen(app)
        for _ in range(6):
            await pilot.press("pagedown")
        await pilot.pause()
        assert "export to a file instead" in read_screen(app)


async def test_keys_pressed_while_the_lab_starts_open_one_form() -> None:
    """2 then Enter before the lab is up: the receive form, once, and nothing stacked on it."""
    gate = asyncio.Event()

    @contextlib.asynccontextmanager
    async def slow_lab() -> AsyncIterator[World]:
        await gate.wait()
        async with running_lab() as world:
            yield world

    app = WizardApp(Settings(timeout=5), lab=True, lab_factory=slow_lab, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2", "enter", "1")
        await pilot.pause()
        assert not app.lab_ready.is_set() and isinstance(app.screen, WelcomeScreen)
        gate.set()
        await app.lab_ready.wait()
        for _ in range(3):
            await pilot.pause()
        forms = [s for s in app.screen_stack if isinstance(s, FormScreen)]
        assert len(forms) == 1 and forms[0].check.kind == "receive"


async def _lab_app(pilot_size: tuple[int, int] = SIZE) -> WizardApp:
    return WizardApp(Settings(timeout=5), lab=True, remember=False)


async def _receive_form(app: WizardApp, pilot: Any, domain: str) -> None:
    """Wait for the lab, open the receive form and put ``domain`` in it (not yet run)."""
    await app.lab_ready.wait()
    await pilot.pause()
    await pilot.press("2")
    await pilot.pause()
    app.screen.query_one("#field-domain", Input).value = domain


async def _run_to_verdict(app: WizardApp, pilot: Any) -> None:
    """Enter on the form, and let the check finish and its verdict screen settle."""
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_forms_start_where_the_eye_is_and_arrows_move_between_fields() -> None:
    app = await _lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert app.focused is not None and app.focused.id == "field-domain"  # not the mailbox
        await pilot.press("down")
        assert app.focused is not None and app.focused.id == "field-mailbox"
        await pilot.press("up")
        assert app.focused is not None and app.focused.id == "field-domain"
        await pilot.press("escape", "1")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen) and app.screen.check.kind == "send"
        assert app.focused is not None and app.focused.id == "field-sender"  # not the .eml field
        # optional fields are not pre-filled from the lab's example
        assert app.screen.raw_values()["dkim_selector"] == ""
        # every Tab stop is something the user can see and use
        stops = []
        for _ in range(10):
            await pilot.press("tab")
            stops.append(app.focused.id if app.focused is not None else None)
        assert "form" not in stops and None not in stops


async def test_returning_to_a_form_selects_the_old_text() -> None:
    app = await _lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        await pilot.press("2", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape", "escape")  # verdict -> details -> form
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        field = app.focused
        assert isinstance(field, Input) and field.value == "healthy.test"
        assert field.selected_text == "healthy.test"


@pytest.mark.documented_ports
async def test_the_lab_shows_the_ports_that_really_answer(
        read_screen: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The welcome screen names the lab's DNS address and port, and dig gets an answer there."""
    monkeypatch.setenv("MXWIZARD_LAB_PORTS", "documented")  # as a user's lab starts
    app = await _lab_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        world = app.world
        shown = f"{world.dns_addr}:{world.dns_port}"
        assert shown in read_screen(app).replace("\n", " ")
        done = await asyncio.to_thread(
            subprocess.run, ["dig", f"@{world.dns_addr}", "-p", str(world.dns_port), "+short",
                             "+tries=1", "+time=3", "MX", "healthy.test"],
            capture_output=True, text=True, timeout=30)
        assert "mx1.healthy.test." in done.stdout
        if not world.moved:  # the documented port, as README says
            assert world.dns_port == 10053 and world.smtp_port == 2525


async def test_the_greylisting_lesson_shows_greylisting_every_time() -> None:
    """Run twice in one lab: the second run must greylist too, not 'No problems found'."""
    # the retry waits min(3 s, timeout); the lab's greylist lets a triplet through after 1 s
    app = WizardApp(Settings(timeout=1.2), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await _receive_form(app, pilot, "greylist.test")
        for run in (1, 2):
            await _run_to_verdict(app, pilot)
            assert isinstance(app.screen, VerdictScreen), run
            assert "smtp.greylisted" in app.screen.diagnosis.ids(), run
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert isinstance(app.screen, FormScreen)


async def test_a_silent_server_shows_what_is_awaited_and_the_time_left(read_screen: Any) -> None:
    """The black-hole MX: the status says which host and port it waits for, with a countdown."""
    app = WizardApp(Settings(timeout=4), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await _receive_form(app, pilot, "blackhole.test")
        await pilot.press("enter")
        port = app.world.smtp_port
        seen = ""
        for _ in range(40):  # up to ~4 s of the wait, a screen read every 0.1 s
            await asyncio.sleep(0.1)
            await pilot.pause()
            text = read_screen(app)
            if "Waiting up to 4 s for" in text:
                seen = text
                break
        assert f"mx1.blackhole.test:{port}" in seen or f"mx2.blackhole.test:{port}" in seen, seen
        assert " s left" in seen
        await app.workers.wait_for_complete()
        await pilot.pause()  # let the verdict screen finish mounting before the app closes
        await pilot.pause()


async def test_copy_says_what_was_sent_and_how_to_make_tmux_pass_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside tmux (whose default drops OSC 52), 'copied' would be a claim we cannot back."""
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = await _lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await _receive_form(app, pilot, "doesnotexist.test")
        await _run_to_verdict(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        said = " ".join(n.message for n in app._notifications)
        assert "Copied" not in said
        assert "OSC 52" in said and "tmux set -g set-clipboard on" in said
        assert "to a file" in said


def _key_bar(app: WizardApp, read_screen: Any) -> str:
    """The key bar's text as the screen shows it (one line, or more in a narrow terminal)."""
    from mxwizard.ui.widgets.keybar import KeyBar

    region = app.screen.query_one(KeyBar).region
    return " ".join(read_screen(app).splitlines()[region.y:region.y + region.height])


async def test_a_run_is_saved_with_s_and_enter_and_replay_offers_the_last_one_first(
        read_screen: Any) -> None:
    """Item 8: after a check, s saves the session from the verdict and from the details (the one
    dialog of the step-through), Enter saves in every save or export dialog, and Lessons' replay
    dialog lists the saved sessions newest first with the last one saved highlighted, so Enter
    replays it."""
    import json
    import os
    import time
    from pathlib import Path

    from textual.widgets import OptionList

    from mxwizard.ui.screens.diagnosis import DiagnosisScreen
    from mxwizard.ui.screens.export import ExportScreen
    from mxwizard.ui.screens.lesson_files import OpenSessionScreen, SaveSessionScreen
    from mxwizard.ui.screens.replay import ReplayScreen

    folder = Path.cwd()  # the test's own directory (the wizard saves here by default)
    app = await _lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await _receive_form(app, pilot, "healthy.test")
        await _run_to_verdict(app, pilot)
        assert isinstance(app.screen, VerdictScreen)
        # export: arrow to JSON on the format list, Enter saves it (it used to pick the format only)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("down", "enter")
        await pilot.pause()
        exported = folder / "mxwizard-receive-healthy.test.json"
        assert exported.is_file(), read_screen(app)
        assert json.loads(exported.read_text())["kind"] == "receive"
        assert "Saved to" in read_screen(app)
        await pilot.press("escape")
        await pilot.pause()
        # the verdict: s, then Enter, saves the session under its default name
        assert isinstance(app.screen, VerdictScreen)
        assert " s Save" in _key_bar(app, read_screen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveSessionScreen), read_screen(app)
        await pilot.press("enter")
        await pilot.pause()
        first = folder / "mxwizard-session-receive-healthy.test.json"
        assert first.is_file() and "Saved to" in read_screen(app)
        await pilot.press("escape", "escape")
        await pilot.pause()
        # the details: the same key, the same dialog; ctrl+s is an alias of Enter
        assert isinstance(app.screen, DiagnosisScreen)
        assert " s Save" in _key_bar(app, read_screen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveSessionScreen)
        app.screen.query_one("#save-path", Input).value = "second.json"
        await pilot.press("ctrl+s")
        await pilot.pause()
        second = folder / "second.json"
        assert second.is_file() and "Saved to" in read_screen(app)
        # saves a second apart, as a person makes them (the file system's clock is coarse)
        now = time.time()
        os.utime(exported, (now - 120, now - 120))
        os.utime(first, (now - 60, now - 60))
        (folder / "notes.json").write_text('{"not": "a session"}\n')
        await pilot.press("escape", "v", "n", "5", "o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, OpenSessionScreen)
        await asyncio.wait_for(dialog.saved_listed.wait(), 10)  # the folder is read off the UI thread
        await pilot.pause()
        text = read_screen(app)
        listed = [name for name in (second.name, first.name, exported.name) if name in text]
        assert listed == [second.name, first.name, exported.name], text
        assert sorted(listed, key=text.index) == listed  # newest first
        assert "notes.json" not in text  # a JSON file that is no session is not offered
        saved = dialog.query_one("#open-saved", OptionList)
        assert app.focused is saved and saved.highlighted == 0
        assert dialog.query_one("#open-path", Input).value == second.name
        await pilot.press("enter")
        for _ in range(50):
            if isinstance(app.screen, ReplayScreen):
                break
            await pilot.pause(0.05)
        replay = app.screen
        assert isinstance(replay, ReplayScreen) and replay.speed is None
        assert len(replay.session.transcripts) == len(json.loads(second.read_text())["transcripts"])


def _readme_lesson_keys() -> list[tuple[str, str]]:
    """The keys README's paragraph for trainers names after "Run one", each with what it says the
    key does: ``[("p", "to step through its SMTP conversation ..."), ...]``."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2] / "README.md"
    paragraphs = readme.read_text(encoding="utf-8").split("\n\n")
    paragraph = next(p for p in paragraphs if "**Lessons**" in p and "Run one" in p)
    after_run = " ".join(paragraph.split("Run one", 1)[1].split())
    parts = re.split(r"`(\w)`", after_run.split(";", 1)[0])
    return list(zip(parts[1::2], parts[2::2], strict=True))


async def test_the_keys_readme_names_for_a_lesson_are_bound_and_shown(read_screen: Any) -> None:
    """Item 11: run a lesson as README tells trainers, then each key it names works and is shown
    in the key bar on the run's details, and in the step-through for the keys that lead elsewhere
    (the DNS lookups, saving); from the verdict a run lands on, the keys work too."""
    import re

    from mxwizard.ui.screens.diagnosis import DiagnosisScreen
    from mxwizard.ui.screens.dns_lesson import DnsLessonScreen
    from mxwizard.ui.screens.lesson_files import SaveSessionScreen
    from mxwizard.ui.screens.lessons import LessonsScreen
    from mxwizard.ui.screens.replay import ReplayScreen

    # what README says a key does -> the screen that shows it
    opens = {"step through": ReplayScreen, "DNS lookups": DnsLessonScreen, "save": SaveSessionScreen}
    keys = _readme_lesson_keys()
    assert len(keys) >= 3, keys
    expected: dict[str, type] = {}
    for key, says in keys:
        matches = [screen for words, screen in opens.items() if words in says]
        assert len(matches) == 1, f"README's `{key}` {says!r}: which screen is that?"
        expected[key] = matches[0]

    async def key_opens(key: str) -> None:
        """``key`` is bound, shown in the key bar, and opens its screen (Escape comes back)."""
        here = app.screen
        bar = _key_bar(app, read_screen)
        active = here.active_bindings.get(key)
        assert active is not None and active.enabled, f"{key} not bound on {type(here).__name__}"
        assert active.binding.show and re.search(rf"(^|\s){key}\s+\S", bar), \
            f"{key} not shown on {type(here).__name__}: {bar!r}"
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, expected[key]), (key, type(app.screen).__name__)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is here

    app = await _lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)
        names = [s.name for s in app.scenarios]
        await pilot.press(*["down"] * names.index("healthy-domain"), "enter")
        await pilot.pause()
        await _run_to_verdict(app, pilot)
        verdict = app.screen
        assert isinstance(verdict, VerdictScreen)
        for key, screen in expected.items():  # where the run lands: the keys work
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen), (key, type(app.screen).__name__)
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is verdict
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        for key in expected:
            await key_opens(key)
        step_through = next(k for k, screen in expected.items() if screen is ReplayScreen)
        await pilot.press(step_through)
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        for key, screen in expected.items():
            if screen is not ReplayScreen:
                await key_opens(key)
