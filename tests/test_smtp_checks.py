"""The SMTP half of the diagnosis against the lab: full annotated transcripts, no DATA ever,
and servers that hang, drip or send garbage end as findings within the time limit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import scenario_timeouts
from mxwizard.core.findings import Status
from mxwizard.core.inputs import parse_host_port
from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Direction
from mxwizard.diagnosis.plans import relay
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.scenarios import SCENARIOS
from mxwizard.lab.world import World

#: One lab for the module (its tests only read it), in the module's event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SMTP_SCENARIOS = [s for s in SCENARIOS if s.kind in ("receive", "relay")
                  and any(e.startswith(("smtp.", "relay.")) for e in s.expect)]


@pytest.mark.parametrize("scenario", SMTP_SCENARIOS, ids=lambda s: s.name)
async def test_every_line_is_annotated_and_no_data_is_sent(shared_lab: World, scenario: Any) -> None:
    lab = shared_lab
    timeout = scenario_timeouts.timeout_for(scenario, 3)  # a short wait where it waits
    diagnosis = await diagnose(scenario.plan(), lab.point(Settings(timeout=timeout)))
    assert [i for i in scenario.expect if i not in diagnosis.ids()] == []
    talked = [t for t in diagnosis.transcripts if any(ln.dir is Direction.SERVER for ln in t.lines)]
    if scenario.name != "all-mx-unreachable" and "smtp.not-checked" not in scenario.expect:
        assert talked, "a conversation was expected"
    if "smtp.not-checked" in scenario.expect:  # an unreachable private address is never dialled
        assert not diagnosis.transcripts
    for transcript in diagnosis.transcripts:
        for line in transcript.lines:
            if line.dir in (Direction.CLIENT, Direction.SERVER):
                assert line.note, f"{transcript.host}: no note for {line.text!r}"
    for host in lab.hosts:
        for session in lab.smtp.sessions(host.ip):
            assert not any(c.upper().startswith("DATA") for c in session.commands), session


async def test_the_relay_test_resets_between_attempts_and_uses_example_domains(shared_lab: World) -> None:
    lab = shared_lab
    before = len(lab.smtp.sessions("127.0.2.20"))  # the module's lab: earlier tests talked to it too
    await diagnose(relay.plan(parse_host_port("relay.open.test")), lab.point(Settings(timeout=3)))
    [session] = lab.smtp.sessions("127.0.2.20")[before:]
    commands = session.commands
    mails = [i for i, c in enumerate(commands) if c.upper().startswith("MAIL FROM")]
    assert len(mails) >= 5
    assert all(commands[i - 1].upper() == "RSET" for i in mails)
    foreign = [c for c in commands if c.upper().startswith("RCPT TO")]
    assert all("example.com" in c for c in foreign)
    assert not any(c.upper().startswith(("DATA", "AUTH")) for c in commands)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def hostile(handler: Handler, ip: str = "127.0.0.61") -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, ip, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        for byte in b"220 slow.example ESMTP drip drip drip drip drip drip\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x1b]2;owned\x07HTTP/1.1 400 Bad Request\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(5)


@pytest.mark.parametrize("handler", [_hang, _drip, _garbage], ids=["hang", "drip", "garbage"])
async def test_hostile_servers_end_as_findings_in_time(handler: Handler) -> None:
    async with hostile(handler) as port:
        started = time.monotonic()
        diagnosis = await diagnose(relay.plan(parse_host_port(f"127.0.0.61:{port}")),
                                   Settings(timeout=1, own_networks=("127.0.0.0/8",)))
        elapsed = time.monotonic() - started
    assert elapsed < 10, "the check must end within its time budget"
    statuses = {f.status for f in diagnosis.findings}
    assert Status.ERROR in statuses
    assert any(f.id in ("smtp.protocol-error", "smtp.connect-timeout", "relay.untested")
               or f.id.endswith(".untested") for f in diagnosis.findings), diagnosis.ids()
    for transcript in diagnosis.transcripts:
        for line in transcript.to_json()["lines"]:  # type: ignore[union-attr]
            assert "\x1b" not in line["text"]
