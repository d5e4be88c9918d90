"""Where the lab listens: its documented ports when they are free, or — with
``MXWIZARD_LAB_PORTS=free``, for several labs on one machine — always free ones; a bad value is
one line and exit status 2 (docs/configuration.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from conftest import run_cli
from mxwizard.core.settings import Settings
from mxwizard.lab import LAB_DNS_PORT, LAB_SMTP_PORT
from mxwizard.lab.world import running_lab
from mxwizard.ui.app import WizardApp


def test_free_ports_never_take_the_documented_ones(
        monkeypatch: pytest.MonkeyPatch, check_json: Callable[[list[str]], tuple[int, Any]]) -> None:
    """``check --lab`` with free ports: its report names the ports it really used."""
    monkeypatch.setenv("MXWIZARD_LAB_PORTS", "free")
    _status, report = check_json(["check", "receive", "healthy.test", "--lab"])
    dns_ports = {int(lookup["server"].rsplit(":", 1)[1]) for lookup in report["dns"]}
    smtp_ports = {transcript["port"] for transcript in report["transcripts"]}
    assert dns_ports and smtp_ports
    assert LAB_DNS_PORT not in dns_ports and LAB_SMTP_PORT not in smtp_ports


async def test_the_wizard_starts_its_lab_on_free_ports_when_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXWIZARD_LAB_PORTS", "free")
    app = WizardApp(Settings(), lab=True, remember=False)
    async with app.run_test(size=(80, 24)):
        await asyncio.wait_for(app.lab_ready.wait(), 60)
        assert app.world is not None, app.lab_problem
        assert (app.world.dns_port, app.world.smtp_port) != (LAB_DNS_PORT, LAB_SMTP_PORT)
        assert app.world.dns_port != LAB_DNS_PORT and not app.world.moved


@pytest.mark.documented_ports
async def test_documented_ports_by_default_and_a_note_when_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MXWIZARD_LAB_PORTS", raising=False)
    async with running_lab() as world:
        if not world.moved:  # nothing else on this machine held them
            assert (world.dns_port, world.smtp_port) == (LAB_DNS_PORT, LAB_SMTP_PORT)
        async with running_lab() as moved:  # the first lab holds the documented ports now
            assert moved.dns_port != world.dns_port
            assert any("was taken" in note for note in moved.moved), moved.moved


def test_a_bad_value_is_one_line_and_status_2(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MXWIZARD_LAB_PORTS", "sometimes")
    code, out, err = run_cli(["check", "receive", "healthy.test", "--lab"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "MXWIZARD_LAB_PORTS" in err and "'sometimes'" in err
