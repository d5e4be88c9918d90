"""The sender checklist in the wizard: a send check's verdict and details offer it (k), it shows
the same rows with the same statuses, sources and fixes as ``mxwizard check send --format json``
for the same lab scenario, says that spam rates cannot be measured here, and shows remote text
inertly. A receive check offers no checklist."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.rules.checklist import ChecklistRow
from mxwizard.lab.scenarios import find
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.checklist import ChecklistRowScreen, ChecklistScreen
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.help import HelpScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.widgets.keybar import KeyBar

SIZE = (80, 24)
#: The status words the table shows, back to the report's words.
SHOWN_STATUS = {"✔ pass": "pass", "✖ FAIL": "fail", "? not checkable": "not-checkable"}


async def cli_checklist(scenario_name: str) -> list[dict[str, str]]:
    """The ``checklist`` of ``mxwizard check send ... --lab --format json`` for a scenario."""
    scenario = find(scenario_name)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "mxwizard", *scenario.args, "--format", "json"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    rows: list[dict[str, str]] = json.loads(done.stdout)["checklist"]
    return rows


async def run_scenario(app: WizardApp, pilot: Any, name: str) -> None:
    """Open a lab scenario's form, run it, and let the verdict settle."""
    await app.lab_ready.wait()
    await pilot.pause()
    app.open_scenario(find(name))
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def key_bar(app: WizardApp) -> str:
    """The key bar's text on the screen in front."""
    return str(app.screen.query_one(KeyBar).visual)


def shown_rows(screen: ChecklistScreen) -> list[tuple[str, str, str]]:
    """(provider, rule, status) of every row as the table shows it: the provider from the
    group's heading, the status from its glyph and word."""
    table = screen.query_one("#checklist-rows", OptionList)
    rows: list[tuple[str, str, str]] = []
    provider = ""
    for index in range(table.option_count):
        text = str(table.get_option_at_index(index).prompt)
        if table.get_option_at_index(index).disabled:
            provider = text.strip().removeprefix("── ").strip()
            continue
        shown = next(s for s in SHOWN_STATUS if text.startswith(s))
        rows.append((provider, text[len("? not checkable "):], SHOWN_STATUS[shown]))
    return rows


def detail_text(screen: ChecklistScreen) -> str:
    """The pane under the table: the highlighted row in full."""
    return str(screen.query_one("#checklist-detail", Static).visual)


@pytest.mark.parametrize("scenario", ["bulk-sender-ready", "bulk-sender-no-unsubscribe"])
async def test_the_checklist_shows_the_rows_of_the_json_report(scenario: str,
                                                               read_screen: Any) -> None:
    expected = await cli_checklist(scenario)
    assert expected
    statuses = {row["status"] for row in expected}
    assert ("fail" in statuses) == (scenario == "bulk-sender-no-unsubscribe")
    app = WizardApp(Settings(timeout=5), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await run_scenario(app, pilot, scenario)
        assert isinstance(app.screen, VerdictScreen)
        assert "k Checklist" in key_bar(app)
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChecklistScreen)
        assert shown_rows(screen) == [(r["provider"], r["rule"], r["status"]) for r in expected]
        text = read_screen(app)
        assert "cannot be measured from here" in text
        assert "Postmaster Tools" in text and "SNDS" in text
        # every row's source and fix in the pane below, the arrows moving down the table
        for index, row in enumerate(expected):
            if index:
                await pilot.press("down")
                await pilot.pause()
            detail = detail_text(screen)
            assert row["rule"] in detail and row["source"] in detail, detail
            assert all(line in detail for line in row["fix"].splitlines()), detail
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        # and from the details behind the verdict
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        assert "k Checklist" in key_bar(app)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen)
        assert shown_rows(app.screen) == [(r["provider"], r["rule"], r["status"])
                                          for r in expected]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)


async def test_a_failed_rule_opens_whole_with_its_fix(read_screen: Any) -> None:
    """Enter on the first failed rule: the whole fix on a screen of its own; Escape comes back."""
    app = WizardApp(Settings(timeout=5), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await run_scenario(app, pilot, "bulk-sender-no-unsubscribe")
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChecklistScreen)
        failed = next(i for i, row in enumerate(shown_rows(screen)) if row[2] == "fail")
        await pilot.press(*["down"] * failed, "enter")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistRowScreen) and app.screen.row.status == "fail"
        text = read_screen(app)
        assert "✖ FAIL" in text and "List-Unsubscribe-Post" in text and "Source:" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


@pytest.mark.parametrize("keys, topic", [((), "verdict"), (("escape",), "diagnosis"),
                                         (("k",), "checklist")])
async def test_f1_tells_of_the_checklist(keys: tuple[str, ...], topic: str,
                                         read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await run_scenario(app, pilot, "bulk-sender-ready")
        await pilot.press(*keys)
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == topic
        await pilot.press("end")
        await pilot.pause()
        assert "checklist" in read_screen(app).lower()


async def test_a_receive_check_offers_no_checklist() -> None:
    app = WizardApp(Settings(timeout=5), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await run_scenario(app, pilot, "healthy-domain")
        for screen_type in (VerdictScreen, DiagnosisScreen):
            assert isinstance(app.screen, screen_type)
            assert not app.screen.diagnosis.checklist  # type: ignore[union-attr]
            assert "Checklist" not in key_bar(app)
            await pilot.press("k")
            await pilot.pause()
            assert isinstance(app.screen, screen_type)
            await pilot.press("escape")
            await pilot.pause()


HOSTILE = "[bold]loud[/bold] [@click=app.quit]click me[/] \x1b]0;pwned\x07 \u202eevil\u202c \udcff"


async def test_row_text_is_shown_inert(read_screen: Any) -> None:
    """Whatever a row quotes reaches the screen as visible characters, never as markup."""
    row = ChecklistRow("Gmail " + HOSTILE, "Rule " + HOSTILE, "fail", "https://x.test/" + HOSTILE,
                       "Fix " + HOSTILE, detail="Why " + HOSTILE)
    note = Finding("checklist.spam-rate", Status.INFO, "Spam " + HOSTILE, fix="Where " + HOSTILE,
                   side=Side.NONE)
    diagnosis = Diagnosis("send", {"sender": "a@b.test"}, findings=[note], checklist=[row])
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(ChecklistScreen("Hostile", diagnosis))
        await pilot.pause()
        for text in (read_screen(app), detail_text(app.screen)):  # type: ignore[arg-type]
            assert "\x1b" not in text and "\u202e" not in text and "\udcff" not in text
            assert "[bold]loud[/bold]" in text.replace("\n", "") or "[bold]loud" in text
            assert "loud click me" not in text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistRowScreen)
        text = read_screen(app)
        assert "\x1b" not in text and "[bold]loud[/bold]" in text and "loud click me" not in text
