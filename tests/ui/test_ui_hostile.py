"""Hostile remote text (Rich/Textual markup, terminal escapes, bidi overrides, lone surrogates)
must reach the screen as inert, visible characters: it can neither restyle nor drive the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Direction, TranscriptLine
from mxwizard.diagnosis.events import DnsAnswered
from mxwizard.diagnosis.tree import FactKey, Facts, Plan, Step
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.finding import FindingScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.widgets.findings import FindingsView

HOSTILE = (
    "[bold]loud[/bold] [@click=app.quit]click me[/] [$accent]themed "
    "[link='https://evil.example']link[/link] \x1b]0;pwned\x07 \x1b[2J \x1b]52;c;Zm9v\x07 "
    "\u202eevil\u202c \udcff end"
)


def hostile_plan() -> Plan:
    async def observe(ctx: Any) -> None:
        sink = ctx.session(HOSTILE, "127.0.0.66", 25)
        sink(TranscriptLine(1.0, Direction.SERVER, "220 " + HOSTILE, HOSTILE))
        sink(TranscriptLine(2.0, Direction.CLIENT, "EHLO " + HOSTILE))
        record = Record("evil.test.", 300, "TXT", f'"{HOSTILE}"', HOSTILE)
        ctx.emit(DnsAnswered("evil", Lookup("evil.test", "TXT", "127.0.0.1:53", Outcome.ANSWER,
                                            (record,), note=HOSTILE)))

    def judge(facts: Facts, observed: None) -> list[Finding]:
        return [Finding("smtp.banner-reject", Status.FAIL, "Banner: " + HOSTILE, detail=HOSTILE,
                        fix=HOSTILE, side=Side.THEM, evidence=(HOSTILE, HOSTILE))]

    return Plan("receive", {"domain": "evil.test", "shown": HOSTILE},
                (Step(FactKey("evil"), "A hostile server", "Why it matters.", observe, judge),))


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\udcff" not in text
    # had any widget parsed the text as markup, the tags would vanish and leave "loud click me"
    assert "loud click me" not in text and "loud [@click" not in text, text


async def test_hostile_remote_text_cannot_break_or_drive_the_screen(read_screen: Any,
                                                                   tmp_path: Path) -> None:
    app = WizardApp(Settings(), lab=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.start_diagnosis("Hostile", hostile_plan())
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        text = read_screen(app)
        assert_inert(text)
        # shown literally (not as bold text) in the headline, the list row and the detail pane
        assert text.count("[bold]loud[/bold]") >= 3, text
        assert "[@click=app.quit]" in text
        # clicking every row of the screen must not run the action hidden in the text; a click on a
        # finding opens it in full, which must be just as inert
        opened = 0
        for y in range(1, 23, 2):
            await pilot.click(offset=(20, y))
            await pilot.pause()
            assert app.is_running
            if isinstance(app.screen, FindingScreen):
                opened += 1
                assert_inert(read_screen(app))
                assert "[@click=app.quit]" in read_screen(app)
                await pilot.press("escape")
                await pilot.pause()
        assert opened >= 1 and app.is_running and isinstance(app.screen, VerdictScreen)
        findings = app.screen.query_one(FindingsView)
        assert findings.current is not None
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        for tab in ("f", "t", "d"):
            await pilot.press(tab)
            await pilot.pause()
            text = read_screen(app)
            assert_inert(text)
            if tab != "f":
                assert "\\e]0;pwned\\x07" in text or "[$accent]" in text
            for y in range(6, 23, 4):
                await pilot.click(offset=(60, y))
            await pilot.pause()
            assert app.is_running
        # a screenshot (the gallery's path) must not choke on the surrogate
        path = app.save_screenshot("hostile.svg", str(tmp_path))
        svg = Path(path).read_text(encoding="utf-8")
        assert "pwned" in svg and "\x1b" not in svg
