"""A newcomer at an 80×24 terminal, with nothing but the arrow keys, Enter and Escape, finds out why
two lab scenarios fail and what to do about it: the MX that names an IP address, and the sending IP on
a blocklist. The test presses only those keys and reads only what the screen shows."""

from __future__ import annotations

from typing import Any

import pytest

from mxwizard.core.settings import Settings
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.finding import FindingScreen
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.lessons import LessonsScreen
from mxwizard.ui.screens.verdict import VerdictScreen

SIZE = (80, 24)
ALLOWED = {"up", "down", "enter", "escape"}


async def press(pilot: Any, *keys: str) -> None:
    """Press keys a newcomer knows, and nothing else."""
    assert set(keys) <= ALLOWED
    await pilot.press(*keys)
    await pilot.pause()


@pytest.mark.parametrize(("scenario", "finding", "why", "fix"), [
    ("mx-ip-literal", "mx.ip-literal", "IP address", "IN MX"),
    ("sender-blocklisted", "dnsbl.listed", "listed", "Removal"),
])
async def test_arrows_enter_and_escape_lead_to_the_cause_and_the_fix(
        scenario: str, finding: str, why: str, fix: str, read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        # Welcome: the fifth choice is the lessons.
        await press(pilot, "down", "down", "down", "down", "enter")
        assert isinstance(app.screen, LessonsScreen)
        names = [s.name for s in app.scenarios]
        await press(pilot, *["down"] * names.index(scenario), "enter")
        assert isinstance(app.screen, FormScreen)
        await press(pilot, "enter")  # the form is filled in: Enter runs the check
        for _ in range(200):
            if isinstance(app.screen, VerdictScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, VerdictScreen)
        assert finding in app.screen.diagnosis.ids()
        shown = read_screen(app)
        assert "FAIL" in shown and why in shown, shown
        # Enter opens the highlighted finding (the worst one comes first) on a whole screen; the
        # arrows scroll it down to the fix.
        await press(pilot, "enter")
        assert isinstance(app.screen, FindingScreen)
        assert app.screen.finding.id == finding
        seen = read_screen(app)
        for _ in range(40):
            if fix in seen:
                break
            await press(pilot, "down")
            seen += read_screen(app)
        assert fix in seen, seen
        await press(pilot, "escape")
        assert isinstance(app.screen, VerdictScreen)
        # Escape goes back to the details of the diagnosis, losing nothing.
        await press(pilot, "escape")
        screen = app.screen
        assert isinstance(screen, DiagnosisScreen) and screen.diagnosis is not None
