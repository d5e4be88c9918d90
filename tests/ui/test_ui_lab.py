"""The wizard against the built-in lab: a lesson fills its form with the scenario's inputs, the
open-relay lesson runs end to end after consent, and the receive check shows real SMTP sessions."""

from __future__ import annotations

from typing import Any

import pytest

from mxwizard.core.settings import Settings
from mxwizard.lab.scenarios import find
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.consent import ConsentScreen
from mxwizard.ui.screens.diagnosis import DiagnosisScreen
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.widgets.transcript import TranscriptView

SIZE = (80, 24)


async def test_a_lesson_fills_its_form_with_the_scenario_inputs() -> None:
    scenario = find("intranet-private-network")
    app = WizardApp(Settings(timeout=5), remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.open_scenario(scenario)
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen) and form.check is scenario.check
        empty = {field.name: "" for field in form.check.fields}
        assert form.raw_values() == {**empty, **scenario.inputs, "private_network": "yes"}


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def test_open_relay_lesson_end_to_end(read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        names = [s.name for s in app.scenarios]
        await pilot.press(*["down"] * names.index("open-relay"), "enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert app.screen.raw_values()["server"] == "relay.open.test"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConsentScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, VerdictScreen)
        assert "relay.open" in app.screen.diagnosis.ids()
        assert "✖ FAIL" in read_screen(app)
        await pilot.press("escape", "t")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        view = app.screen.query_one(TranscriptView)
        assert view.line_count > 5
        lines = [app.screen.diagnosis.transcripts[0].lines[i].text  # type: ignore[union-attr]
                 for i in range(len(app.screen.diagnosis.transcripts[0].lines))]  # type: ignore[union-attr]
        assert not any(line.upper().startswith("DATA") for line in lines)


async def test_receive_in_the_lab_groups_concurrent_sessions(read_screen: Any) -> None:
    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        app.open_scenario(next(s for s in app.scenarios if s.name == "healthy-domain"))
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiagnosisScreen) and screen.diagnosis is not None
        view = screen.query_one(TranscriptView)
        sessions = len(screen.diagnosis.transcripts)
        assert sessions >= 2
        headings = [view.option_list.get_option_at_index(i)
                    for i in range(view.option_list.option_count)
                    if view.option_list.get_option_at_index(i).disabled]
        assert len(headings) == sessions  # one heading per session once finished
        assert view.line_count == sum(len(t.lines) for t in screen.diagnosis.transcripts)


async def test_the_lab_lives_as_long_as_the_app() -> None:
    import asyncio

    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        assert app.world is not None
        port = app.world.smtp_port
        smtp_host = next(h.ip for h in app.world.hosts if h.mode == "listen")
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(smtp_host, port), 5)
        writer.close()
    with pytest.raises(OSError):
        await asyncio.wait_for(asyncio.open_connection(smtp_host, port), 5)


async def test_f2_detects_the_public_ip_through_the_labs_whoami(read_screen: Any) -> None:
    import ipaddress

    app = WizardApp(Settings(timeout=5), lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()  # the lab starts behind the welcome screen
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#field-ip").value = ""  # type: ignore[attr-defined]
        await pilot.press("f2")
        await settle(pilot)
        detected = app.screen.raw_values()["ip"]
        ipaddress.ip_address(detected)
        assert "Your public IP, according to" in read_screen(app)
