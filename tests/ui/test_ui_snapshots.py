"""Snapshot tests: every screen at 80×24 (and one with NO_COLOR), compared with the SVGs in
``tests/ui/__snapshots__``. Update them on purpose with ``pytest tests/ui --snapshot-update``.

The diagnosis and verdict screens use the deterministic fake plan (the lab's timings and ports
change from run to run); the welcome and lessons screens use the real lab."""

from __future__ import annotations

from typing import Any

import pytest

from mxwizard.settings import Settings
from mxwizard.ui.app import WizardApp

SIZE = (80, 24)


def finished_app(make_plan: Any, kind: str = "receive") -> tuple[WizardApp, Any]:
    """An app and a run_before that runs the fake plan to its verdict."""
    app = WizardApp(Settings(), lab=False)

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        app.start_diagnosis("Mail does not reach me", make_plan(kind))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return app, run_before


async def lab_started(pilot: Any) -> None:
    """The lab starts behind the welcome screen: wait for it, so the picture is stable."""
    await pilot.app.lab_ready.wait()
    await pilot.pause()


def test_welcome_lab(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=True), run_before=lab_started, terminal_size=SIZE)


def test_welcome_no_color(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(WizardApp(Settings(), lab=False), terminal_size=SIZE)


def test_form_send_lab(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=True), press=["1"], run_before=lab_started,
                        terminal_size=SIZE)


def test_form_error(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=False), press=["2", *"a@b", "enter"],
                        terminal_size=SIZE)


def test_lessons_lab(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=True), press=["5"], run_before=lab_started,
                        terminal_size=SIZE)


def test_verdict(snap_compare: Any, make_plan: Any) -> None:
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_verdict_no_color(snap_compare: Any, make_plan: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


@pytest.mark.parametrize("tab", ["f", "t", "z"])
def test_diagnosis_tabs(snap_compare: Any, make_plan: Any, tab: str) -> None:
    app, run_before = finished_app(make_plan)
    keys = ["escape", tab] if tab != "z" else ["escape", "t", "z", "home", "down"]
    assert snap_compare(app, run_before=run_before, press=keys, terminal_size=SIZE)


def test_replay(snap_compare: Any, make_plan: Any) -> None:
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, run_before=run_before, press=["escape", "p", "space", "space", "space"],
                        terminal_size=SIZE)


def test_export(snap_compare: Any, make_plan: Any) -> None:
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, run_before=run_before, press=["e"], terminal_size=SIZE)


def test_consent(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=False), press=["4", *"mail.example.org", "enter"],
                        terminal_size=SIZE)


def test_bounce(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=False),
                        press=["3", *"550 5.1.1 <bob@example.org>: User unknown"], terminal_size=SIZE)


def test_help(snap_compare: Any, make_plan: Any) -> None:
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, run_before=run_before, press=["escape", "f1"], terminal_size=SIZE)
