"""Lessons for trainers, in the wizard against the real lab at 80×24: a scenario's SMTP session
stepped through one command at a time (what we send and why, then the reply and what it means),
its DNS lookups walked one by one the way dig shows them, the session saved to a file and replayed
from Lessons at a chosen speed, paused and stopped; bad and hostile files answered safely."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Direction
from mxwizard.replay.lesson_steps import dns_after, dns_before, smtp_after, smtp_before
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.dns_lesson import DnsLessonScreen
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.lesson_files import OpenSessionScreen, SaveSessionScreen
from mxwizard.ui.screens.lessons import LessonsScreen
from mxwizard.ui.screens.replay import ReplayScreen
from mxwizard.ui.screens.verdict import VerdictScreen

SIZE = (80, 24)


def flat(text: str) -> str:
    """The screen's text with line breaks and runs of spaces folded, so wrapped sentences match."""
    return " ".join(text.replace("▊", " ").split())


def shows(read_screen: Any, app: WizardApp, *wanted: str) -> str:
    """Assert that every piece of ``wanted`` is on screen (wrapping ignored); returns the text."""
    text = flat(read_screen(app))
    for piece in wanted:
        assert flat(piece) in text, f"{piece!r} not on screen:\n{read_screen(app)}"
    return text


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def run_healthy_lesson(pilot: Any) -> DiagnosisScreen:
    """Lessons → healthy-domain → run → back from the verdict to the diagnosis."""
    app = pilot.app
    await app.lab_ready.wait()
    await pilot.pause()
    await pilot.press("5")
    await pilot.pause()
    assert isinstance(app.screen, LessonsScreen)
    names = [s.name for s in app.scenarios]
    await pilot.press(*["down"] * names.index("healthy-domain"), "enter")
    await pilot.pause()
    assert isinstance(app.screen, FormScreen)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, VerdictScreen)
    await pilot.press("escape")
    await pilot.pause()
    assert isinstance(app.screen, DiagnosisScreen)
    return app.screen


def fill(app: WizardApp, selector: str, value: str) -> None:
    """Put a long file name into a dialog's input at once (typing it key by key is slow)."""
    field = app.screen.query_one(selector)
    field.value = value  # type: ignore[attr-defined]
    field.focus()


async def wait_for(pilot: Any, condition: Any, seconds: float = 20.0) -> None:
    """Pause until ``condition()`` holds; a generous bound only proves nothing hung."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the playback did not finish"
        await pilot.pause(0.05)


async def test_a_lesson_steps_through_smtp_and_dns_then_saves_and_replays(read_screen: Any,
                                                                         tmp_path: Path) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        diagnosis_screen = await run_healthy_lesson(pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        assert screen.shown == 0 and len(screen.session.transcripts) >= 2

        # every step: first what we send and why, then the command, the reply and its meaning
        for number, step in enumerate(screen.steps, start=1):
            head, why = smtp_before(step)
            shows(read_screen, app, f"Step {number} of {len(screen.steps)} · Next (Space):", head, why[:60])
            if step.command is None:
                assert head.startswith(f"we connect to {step.transcript.host}")
            else:
                assert head.startswith(f"we send {step.command.text}")
            await pilot.press("space")
            await pilot.pause()
            assert screen.shown == step.end
            after_head, after_body = smtp_after(step)
            wanted = [after_head, after_body[:50]]
            if step.command is not None:  # encrypted lines keep their mark
                wanted.append(f"C→ {'tls ' if step.command.encrypted else ''}{step.command.text}")
            reply = next((line for line in step.lines if line.dir is Direction.SERVER), None)
            if reply is not None:
                wanted.append(f"S← {'tls ' if reply.encrypted else ''}{reply.text}")
            shows(read_screen, app, *wanted)
        greeting, ehlo = screen.steps[0], screen.steps[1]
        assert smtp_after(greeting)[0].startswith("✔ The greeting: 220")
        assert ehlo.command is not None and ehlo.command.text.startswith("EHLO ")
        assert smtp_before(ehlo)[0].startswith("we send EHLO")
        assert "What the receiver checked" in smtp_after(ehlo)[1]
        shows(read_screen, app, "End of the conversation")
        encrypted = [s for s in screen.steps if s.command is not None and s.command.encrypted]
        assert encrypted and all("(inside TLS: encrypted)" in smtp_before(s)[0] for s in encrypted)

        # back a step, then start again
        last = screen.steps[-1]
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.shown == screen.steps[-2].end
        shows(read_screen, app, "Next (Space):", smtp_before(last)[0])
        await pilot.press("r")
        await pilot.pause()
        assert screen.shown == 0

        # the DNS lesson of the same check: MX, A and PTR, each asked, shown dig-style, explained
        await pilot.press("d")
        await pilot.pause()
        lesson = app.screen
        assert isinstance(lesson, DnsLessonScreen)
        seen: set[str] = set()
        for number, lookup in enumerate(lesson.lookups, start=1):
            head, why = dns_before(lookup)
            shows(read_screen, app, f"Lookup {number} of {len(lesson.lookups)}", head, why[:50])
            await pilot.press("space")
            await pilot.pause()
            answer_head, answer_body = dns_after(lookup)
            shows(read_screen, app, f";; {lookup.qname} {lookup.qtype} @{lookup.server}",
                  answer_head, answer_body[:60],
                  *[f"{r.name} {r.ttl} IN {r.rdtype}" for r in lookup.answer[:1]])
            seen.add(lookup.qtype)
        assert {"MX", "A", "PTR"} <= seen
        mx = next(lookup for lookup in lesson.lookups if lookup.qtype == "MX")
        assert "Where does mail for healthy.test go?" in dns_before(mx)[1]
        assert "mx1.healthy.test (10)" in dns_after(mx)[1]
        ptr = next(lookup for lookup in lesson.lookups if lookup.qtype == "PTR")
        assert "claims the name mx" in dns_after(ptr)[1]
        shows(read_screen, app, "That was every lookup")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen

        # save the session
        saved = tmp_path / "lesson.json"
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveSessionScreen)
        fill(app, "#save-path", str(saved))
        await pilot.press("enter")
        await pilot.pause()
        shows(read_screen, app, "Saved to")
        report = json.loads(saved.read_text())
        assert len(report["transcripts"]) == len(screen.session.transcripts)
        assert {lookup["qtype"] for lookup in report["dns"]} >= {"MX", "A", "PTR"}
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.screen is diagnosis_screen

        # reopen it from Lessons and play it at 20× to the end
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OpenSessionScreen)
        fill(app, "#open-path", str(saved))
        await pilot.press("tab", *["down"] * 5, "enter", "ctrl+o")
        await pilot.pause()
        played = app.screen
        assert isinstance(played, ReplayScreen) and played.speed == 20.0
        await wait_for(pilot, lambda: not played.playing)
        assert played.shown == len(played.lines) == sum(len(t["lines"]) for t in report["transcripts"])
        shows(read_screen, app, "End of the conversation", "played at 20×", "221 2.0.0 Bye")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)


async def test_timed_playback_pauses_resumes_and_stops(read_screen: Any, tmp_path: Path) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        diagnosis = await run_healthy_lesson(pilot)
        assert diagnosis.diagnosis is not None
        # the lab answers in milliseconds: stretch the recorded times so a pause lands mid-way
        report = diagnosis.diagnosis.to_json()
        for transcript in report["transcripts"]:  # type: ignore[attr-defined]
            for number, line in enumerate(transcript["lines"]):
                line["t_ms"] = 1000.0 * number
        slow = tmp_path / "slow.json"
        slow.write_text(json.dumps(report))
        await pilot.press("escape", "escape")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        fill(app, "#open-path", str(slow))
        await pilot.press("tab", "down", "down", "enter", "ctrl+o")  # 1×
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.speed == 1.0 and screen.playing
        await wait_for(pilot, lambda: screen.shown >= 1)
        await pilot.press("space")
        await pilot.pause()
        assert screen.paused and screen.shown < len(screen.lines)
        shown = screen.shown
        shows(read_screen, app, "⏸ Paused", f"line {shown} of {len(screen.lines)}",
              "Space resumes, Escape stops")
        await pilot.pause(1.5)
        assert screen.shown == shown  # paused means paused
        await pilot.press("space")
        await pilot.pause()
        assert not screen.paused and screen.playing
        shows(read_screen, app, "▶ Playing at 1×")
        await pilot.press("escape")  # stops the playback, stays on the screen
        await pilot.pause()
        assert app.screen is screen and not screen.playing
        stopped = screen.shown
        await pilot.pause(1.5)
        assert screen.shown == stopped
        await pilot.press("space")  # from here, the keys step
        await pilot.pause()
        assert screen.shown == next(s.end for s in screen.steps if s.end > stopped)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)


GARBLED = b'{"transcripts": [{"host": "mx", "lines": [{"t_ms": 1, "dir": "S", "text": "220'


async def test_a_garbled_file_gets_one_clear_line_and_the_dialog_stays(read_screen: Any,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "garbled.json").write_bytes(GARBLED)
    (tmp_path / "wrong.json").write_text(
        '{"transcripts": [{"lines": [{"t_ms": -5, "dir": "S", "text": ""}]}]}')
    app = WizardApp(Settings(), lab=False)  # replaying files needs no lab
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5", "o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, OpenSessionScreen)
        await pilot.press(*"garbled.json", "enter")
        await pilot.pause()
        assert app.screen is dialog
        shows(read_screen, app, "✖ garbled.json is not valid JSON (line 1")
        dialog.query_one("#open-path").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"wrong.json", "enter")
        await pilot.pause()
        shows(read_screen, app, "✖ wrong.json: transcripts[0].lines[0].t_ms must lie between 0")
        dialog.query_one("#open-path").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"missing.json", "enter")
        await pilot.pause()
        shows(read_screen, app, "✖ cannot read missing.json")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)


HOSTILE = "[bold]loud[/bold] [$accent]x \x1b]0;pwned\x07 \u202eevil"


async def test_hostile_text_in_a_session_file_stays_inert(read_screen: Any, tmp_path: Path) -> None:
    session = {
        "kind": "receive", "target": {"shown": HOSTILE},
        "transcripts": [{"host": HOSTILE, "ip": "127.0.0.66\x1b[2J", "port": 25, "lines": [
            {"t_ms": 0, "dir": "S", "text": "220 " + HOSTILE, "note": HOSTILE},
            {"t_ms": 1, "dir": "C", "text": "EHLO " + HOSTILE},
            {"t_ms": 2, "dir": "S", "text": "550 5.7.1 " + HOSTILE},
            {"t_ms": 3, "dir": "info", "text": HOSTILE, "note": HOSTILE},
        ]}],
        "dns": [{"t_ms": 0, "qname": HOSTILE, "qtype": "TXT", "server": "127.0.0.1:53",
                 "rcode": "NOERROR", "answers": [f'evil.test. 300 IN TXT "{HOSTILE}"'], "ms": 1}],
    }
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(session))
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5", "o")
        await pilot.pause()
        fill(app, "#open-path", str(path))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        for _ in range(3):
            text = read_screen(app)
            assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
            assert "loud x" not in text
            await pilot.press("space")
            await pilot.pause()
        shows(read_screen, app, "[bold]loud[/bold]", "\\e]0;pwned\\x07", "\\u202eevil")
        await pilot.press("d", "space")
        await pilot.pause()
        text = read_screen(app)
        assert isinstance(app.screen, DnsLessonScreen)
        assert "\x1b" not in text and "\u202e" not in text and "[bold]loud[/bold]" in text
