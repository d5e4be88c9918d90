"""Pilot tests that drive each branch of the wizard end to end at 80×24, against the built-in lab
where the branch's plan exists and against small fake plans where it does not yet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mxwizard.diagnosis.plans.relay as relay_module
from mxwizard.core.findings import Status
from mxwizard.core.settings import Settings
from mxwizard.ui import form_memory as memory
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.consent import ConsentScreen
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.export import ExportScreen
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.help import HelpScreen
from mxwizard.ui.screens.lessons import LessonsScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.screens.welcome import WelcomeScreen
from mxwizard.ui.widgets.dns import DnsView
from mxwizard.ui.widgets.findings import FindingsView
from mxwizard.ui.widgets.steps import StepList
from mxwizard.ui.widgets.transcript import TranscriptView

SIZE = (80, 24)


async def finish(pilot: Any) -> None:
    """Let the probes run to the end and the screens catch up."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def type_into(pilot: Any, selector: str, text: str) -> None:
    """Replace the value of an input, as a user would (clear, then type)."""
    pilot.app.screen.query_one(selector).value = ""
    pilot.app.screen.query_one(selector).focus()
    await pilot.press(*text)


async def test_receive_against_the_lab_shows_path_findings_dns_and_verdict(read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert app.world is not None, app.lab_problem
        assert "LAB" in read_screen(app)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        # lab mode fills the form with the first receive scenario
        assert app.screen.raw_values()["domain"] == "healthy.test"
        await pilot.press("enter")
        await finish(pilot)
        assert isinstance(app.screen, VerdictScreen)
        assert app.screen.diagnosis.verdict.status.rank < Status.WARN.rank
        assert "Can mail reach healthy.test?" in read_screen(app)
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiagnosisScreen)
        steps = screen.query_one(StepList)
        assert steps.done_count() == len(screen.plan.steps)
        assert "✔ pass" in read_screen(app)
        assert len(screen.query_one(FindingsView).findings) == len(screen.diagnosis.findings)  # type: ignore[union-attr]
        await pilot.press("d")
        await pilot.pause()
        assert screen.query_one(DnsView).count >= 3
        assert "dig @127.0.0.1" in read_screen(app)


async def test_a_failing_domain_gives_a_fail_verdict_and_a_copyable_fix(read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await type_into(pilot, "#field-domain", "doesnotexist.test")
        await pilot.press("enter")
        await finish(pilot)
        assert isinstance(app.screen, VerdictScreen)
        diagnosis = app.screen.diagnosis
        assert diagnosis.verdict.status is Status.FAIL
        assert "domain.nxdomain" in diagnosis.ids()
        text = read_screen(app)
        assert "✖ FAIL" in text and "Your side" in text
        finding = app.screen.query_one(FindingsView).current
        assert finding is not None and finding.status is Status.FAIL
        await pilot.press("c")
        await pilot.pause()
        assert finding.fix and app.clipboard == finding.fix


async def test_bad_input_is_answered_next_to_the_field(read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await type_into(pilot, "#field-domain", "user@example.org")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "is a mail address" in read_screen(app)
        await type_into(pilot, "#field-domain", "")
        await pilot.press("enter")
        await pilot.pause()
        assert "Please fill in this field." in read_screen(app)
        assert "is a mail address" not in read_screen(app)


async def test_values_are_remembered_between_runs(make_plan: Any, monkeypatch: pytest.MonkeyPatch,
                                                  isolated_home: Path) -> None:
    import mxwizard.diagnosis.plans.receive as receive_module

    monkeypatch.setattr(receive_module, "plan", lambda domain, mailbox: make_plan("receive"))
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await type_into(pilot, "#field-domain", "example.org")
        await pilot.press("enter")
        await finish(pilot)
        assert isinstance(app.screen, VerdictScreen)
    assert memory.load()["receive"] == {"domain": "example.org"}
    assert (isolated_home / "config" / "mxwizard" / "last.json").is_file()
    again = WizardApp(Settings(), lab=False)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(again.screen, FormScreen)
        assert again.screen.raw_values()["domain"] == "example.org"


async def test_escape_never_loses_a_finished_diagnosis(make_plan: Any, read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await finish(pilot)
        assert isinstance(app.screen, VerdictScreen)
        finished = app.screen.diagnosis
        await pilot.press("n")  # new check: back to the start
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert "last result" in read_screen(app)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        assert app.screen.diagnosis is finished
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        assert app.screen.diagnosis is finished
        assert app.screen.query_one(TranscriptView).line_count == 12


async def test_transcript_shows_direction_time_tls_and_explains_the_selected_line(
        make_plan: Any, read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await finish(pilot)
        await pilot.press("escape", "t")
        await pilot.pause()
        view = app.screen.query_one(TranscriptView)
        heading = view.option_list.get_option_at_index(0)
        assert heading.disabled
        assert "── SMTP session with mx.fake.test [127.0.0.9]:2525" in str(heading.prompt)
        await pilot.press("z", "home")  # zoom: the transcript gets the whole width
        await pilot.pause()
        text = read_screen(app)
        assert "S← 220 mx.fake.test ESMTP ready" in text
        assert "C→ EHLO wizard.example" in text
        assert "↳ the server greets us" in text
        assert view.option_list.has_focus
        await pilot.press("down")
        await pilot.pause()
        assert "The server replied at 10 ms" in read_screen(app)
        await pilot.press("end")
        await pilot.pause()
        assert "(inside TLS)" in read_screen(app)
        assert "tls 221 Bye" in read_screen(app)


async def test_stop_key_and_leaving_the_screen_cancel_the_probes(make_plan: Any, read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=60), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive", slow=30))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiagnosisScreen) and screen.running
        assert "… running" in read_screen(app)
        await pilot.press("s")
        await finish(pilot)
        assert not screen.running
        assert "Stopped" in read_screen(app)
        assert "■ stopped" in read_screen(app)
        await pilot.press("r")  # run again, then leave while it runs
        await pilot.pause()
        rerun = app.screen
        assert isinstance(rerun, DiagnosisScreen) and rerun.running
        await pilot.press("escape")
        await finish(pilot)
        assert not rerun.running
        assert isinstance(app.screen, WelcomeScreen)
        assert app.is_running


async def test_relay_asks_for_consent_first(make_plan: Any, monkeypatch: pytest.MonkeyPatch,
                                           read_screen: Any) -> None:
    monkeypatch.setattr(relay_module, "plan", lambda server: make_plan("relay"), raising=False)
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        await type_into(pilot, "#field-server", "mail.example.org:2525")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConsentScreen)
        assert "never sends a message" in read_screen(app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "Not tested" in read_screen(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await finish(pilot)
        assert isinstance(app.screen, VerdictScreen)
        assert app.screen.diagnosis.kind == "relay"


async def test_export_saves_markdown_and_copies_json(make_plan: Any, isolated_home: Path) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await finish(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = isolated_home / "mxwizard-receive-fake.test.md"
        assert saved.read_text().startswith("# Can mail reach fake.test?")
        await pilot.press("down")  # the JSON radio button
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#export-path").value.endswith(".json")  # type: ignore[attr-defined]
        await pilot.press("ctrl+y")
        await pilot.pause()
        report = json.loads(app.clipboard)
        assert report["kind"] == "receive"
        assert "smtp.domain-not-accepted" in [f["id"] for f in report["findings"]]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)


async def test_lessons_open_a_scenario_filled_in(read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)
        assert "healthy-domain" in read_screen(app)
        await pilot.press("down", "enter")  # the second scenario: the domain that does not exist
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert app.screen.raw_values()["domain"] == "doesnotexist.test"
        assert "domain.nxdomain" in read_screen(app)


async def test_lessons_without_the_lab_explain_how_to_start_it(read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        assert "mxwizard --lab" in read_screen(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


@pytest.mark.parametrize("keys, topic", [
    ((), "welcome"), (("2",), "form-receive"), (("1",), "form-send"), (("3",), "bounce"),
])
async def test_f1_shows_the_help_of_the_screen_in_front(keys: tuple[str, ...], topic: str,
                                                       read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        under = app.screen
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == topic
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is under


async def test_command_palette_jumps_to_a_step(make_plan: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await finish(pilot)
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiagnosisScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Step: SMTP")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one(StepList).highlighted == 1
        current = screen.query_one(FindingsView).current
        assert current is not None and current.step == "smtp"


async def test_bounce_screen_keeps_the_text_and_explains_or_says_it_cannot(read_screen: Any) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "Paste something first" in read_screen(app)
        await pilot.press(*"550 5.1.1 User unknown")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("3")
        await pilot.pause()
        assert "550 5.1.1 User unknown" in read_screen(app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        if isinstance(app.screen, VerdictScreen):
            assert app.screen.diagnosis.kind == "explain"
        else:
            assert "not available yet" in read_screen(app)


async def test_step_through_plays_the_conversation_one_command_per_key(make_plan: Any,
                                                                      read_screen: Any) -> None:
    from mxwizard.ui.screens.replay import ReplayScreen

    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan("receive"))
        await finish(pilot)
        await pilot.press("escape", "p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        assert screen.shown == 0 and "Step 1 of 6" in read_screen(app)
        await pilot.press("space", "space")  # the greeting, then EHLO with its reply
        await pilot.pause()
        assert screen.shown == 4
        text = read_screen(app)
        assert "C→ EHLO wizard.example" in text and "MAIL FROM" not in text
        assert "EHLO answered: 250" in text and "we send STARTTLS" in text
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.shown == 2 and "C→ EHLO wizard.example" not in read_screen(app)
        await pilot.press("a")
        await pilot.pause()
        assert screen.shown == 12 and "End of the conversation" in read_screen(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
