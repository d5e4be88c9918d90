"""Where the lab listens: its documented ports when they are free, or — with
``MXWIZARD_LAB_PORTS=free``, for several labs on one machine — always free ones; a bad value is
one line and exit status 2 (docs/configuration.md)."""

from __future__ import annotations

import pytest

from conftest import run_cli
from mxwizard.lab import LAB_DNS_PORT, LAB_SMTP_PORT
from mxwizard.lab.world import running_lab


async def test_free_ports_never_take_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MXWIZARD_LAB_PORTS", "free")
    async with running_lab() as first, running_lab() as second:
        ports = {(w.dns_port, w.smtp_port, w.https_port) for w in (first, second)}
        assert len(ports) == 2, "two labs side by side, each on its own ports"
        for world in (first, second):
            assert world.dns_port != LAB_DNS_PORT and world.smtp_port != LAB_SMTP_PORT
            assert not world.moved, "free ports were asked for: nothing moved"


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
