"""Snapshot tests: every screen at 80×24 (and one with NO_COLOR), compared with the SVGs in
``tests/ui/__snapshots__``. Update them on purpose with ``pytest tests/ui --snapshot-update``.

The diagnosis and verdict screens use the deterministic fake plan (the lab's timings and ports
change from run to run); the welcome and lessons screens use the real lab; the lesson screens
(step-through, DNS lesson, save and open dialogs, timed playback) replay a fixed session file."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from mxwizard.core.settings import Settings
from mxwizard.replay.session_files import Session, parse_session
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


def test_welcome_lab(snap_compare: Any, documented_lab: Any) -> None:
    # it shows the lab's ports: the documented ones, waited for if another test run holds them
    assert snap_compare(WizardApp(Settings(), lab=True, lab_factory=documented_lab),
                        run_before=lab_started, terminal_size=SIZE)


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


def test_finding_full(snap_compare: Any, make_plan: Any) -> None:
    app, run_before = finished_app(make_plan)
    assert snap_compare(app, press=["enter"], run_before=run_before, terminal_size=SIZE)


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


# --- lessons: a fixed session, as saved from a lab lesson (ports and times do not change) ------

def _line(t: float, direction: str, text: str, encrypted: bool = False) -> dict[str, object]:
    line: dict[str, object] = {"t_ms": t, "dir": direction, "text": text, "note": ""}
    return {**line, "encrypted": True} if encrypted else line


LESSON = {
    "mxwizard": "0.1.0", "kind": "receive", "target": {"domain": "lesson.test", "shown": "lesson.test"},
    "transcripts": [{"host": "mx1.lesson.test", "ip": "127.0.2.1", "port": 25, "lines": [
        _line(20.0, "info", "connecting to 127.0.2.1:25"),
        _line(22.0, "S", "220 mx1.lesson.test ESMTP"),
        _line(23.0, "C", "EHLO probe.mxwizard.invalid"),
        _line(24.0, "S", "250-mx1.lesson.test"),
        _line(24.5, "S", "250-SIZE 10240000"),
        _line(25.0, "S", "250 STARTTLS"),
        _line(26.0, "C", "STARTTLS"),
        _line(27.0, "S", "220 2.0.0 Ready to start TLS"),
        _line(33.0, "info", "TLSv1.3 established", True),
        _line(34.0, "C", "EHLO probe.mxwizard.invalid", True),
        _line(35.0, "S", "250 mx1.lesson.test", True),
        _line(36.0, "C", "MAIL FROM:<>", True),
        _line(37.0, "S", "250 2.1.0 Ok", True),
        _line(38.0, "C", "RCPT TO:<postmaster@lesson.test>", True),
        _line(39.0, "S", "550 5.7.1 Relay access denied", True),
        _line(40.0, "C", "QUIT", True),
        _line(41.0, "S", "221 2.0.0 Bye", True),
    ]}],
    "dns": [
        {"t_ms": 1.0, "qname": "lesson.test", "qtype": "MX", "server": "127.0.0.1:5353", "rcode": "NOERROR",
         "answers": ["lesson.test. 300 IN MX 10 mx1.lesson.test."], "ms": 2.0},
        {"t_ms": 4.0, "qname": "mx1.lesson.test", "qtype": "A", "server": "127.0.0.1:5353",
         "rcode": "NOERROR", "answers": ["mx1.lesson.test. 300 IN A 127.0.2.1"], "ms": 2.0},
        {"t_ms": 4.5, "qname": "mx1.lesson.test", "qtype": "AAAA", "server": "127.0.0.1:5353",
         "rcode": "NODATA", "answers": [], "ms": 2.0},
        {"t_ms": 9.0, "qname": "1.2.0.127.in-addr.arpa", "qtype": "PTR", "server": "127.0.0.1:5353",
         "rcode": "NOERROR", "answers": ["1.2.0.127.in-addr.arpa. 300 IN PTR mx1.lesson.test."], "ms": 2.0},
    ],
    "elapsed_ms": 45.0,
}


def lesson_session() -> Session:
    """The fixed session, loaded the way a file is."""
    return parse_session(json.dumps(LESSON))


def lesson_app(screen: str, speed: float | None = None) -> tuple[WizardApp, Any]:
    """An app and a run_before that opens a lesson screen on the fixed session."""
    from mxwizard.ui.screens.dns_lesson import DnsLessonScreen
    from mxwizard.ui.screens.replay import ReplayScreen

    app = WizardApp(Settings(), lab=False)

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        session = lesson_session()
        if screen == "dns":
            await app.push_screen(DnsLessonScreen("Saved session: receive lesson.test", session.lookups))
        else:
            await app.push_screen(ReplayScreen("Saved session: receive lesson.test", session, speed=speed))
        await pilot.pause()
        deadline = time.monotonic() + 20
        while getattr(app.screen, "playing", False) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause()

    return app, run_before


def test_lesson_step_through(snap_compare: Any) -> None:
    app, run_before = lesson_app("smtp")
    assert snap_compare(app, run_before=run_before, press=["space", "space"], terminal_size=SIZE)


def test_lesson_step_through_refused(snap_compare: Any) -> None:
    app, run_before = lesson_app("smtp")
    assert snap_compare(app, run_before=run_before, press=["space"] * 6, terminal_size=SIZE)


def test_lesson_played(snap_compare: Any) -> None:
    app, run_before = lesson_app("smtp", speed=20.0)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_dns_lesson(snap_compare: Any) -> None:
    app, run_before = lesson_app("dns")
    assert snap_compare(app, run_before=run_before, press=["space", "space"], terminal_size=SIZE)


def test_save_session(snap_compare: Any) -> None:
    app, run_before = lesson_app("smtp")
    assert snap_compare(app, run_before=run_before, press=["space", "s"], terminal_size=SIZE)


def test_open_session_bad_file(snap_compare: Any) -> None:
    assert snap_compare(WizardApp(Settings(), lab=False), press=["5", "o", *"missing.json", "enter"],
                        terminal_size=SIZE)
