"""Safety rules checked from the lab's side: what the servers actually received.

The relay test and the delivery rehearsal never send DATA; foreign addresses come only from the
reserved example domains; the relay test resets between attempts; and AUTH secrets can neither be
sent by the probe nor survive into a transcript or report if a login line is ever recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from mxwizard.core.inputs import parse_address, parse_host_port
from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Transcript, TranscriptLine
from mxwizard.diagnosis.plans import relay, send
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.world import World
from mxwizard.probes.smtp.facts import Command
from mxwizard.probes.smtp.protocol import REDACTED, SessionRecorder, recording_into, stop_recording_into
from mxwizard.render.report import render

RESERVED = ("example.com", "example.org", "example.net", ".invalid", ".test")
SECRET = "c2VjcmV0LXBhc3N3b3Jk"  # base64 of "secret-password"


def _commands(lab: World) -> list[str]:
    out = [c for host in lab.hosts for s in lab.smtp.sessions(host.ip) for c in s.commands]
    assert lab.hostile is not None
    out += [c for ip in lab.hostile.hosts for s in lab.hostile.sessions(ip) for c in s.commands]
    return out


async def test_relay_tests_send_no_data_reset_between_attempts_and_use_reserved_domains(lab: World) -> None:
    for target in ("relay.open.test", "mx1.healthy.test", "mx.strict.test", "127.0.4.7"):
        await diagnose(relay.plan(parse_host_port(target)), lab.point(Settings(timeout=2)))
    commands = _commands(lab)
    assert commands
    assert not any(c.upper().startswith(("DATA", "AUTH", "BDAT")) for c in commands)
    for index, command in enumerate(commands):
        if command.upper().startswith(("MAIL FROM", "RCPT TO")):
            address = command.split(":", 1)[1].lower()
            own = "@[127.0.4.7]" in address  # the target's own address: not a foreign one
            assert address == "<>" or own or any(r in address for r in RESERVED), command
        if command.upper().startswith("MAIL FROM") and index > 0:
            assert commands[index - 1].upper() in ("RSET", "EHLO RELAY-TEST.MXWIZARD.INVALID") or \
                commands[index - 1].upper().startswith("EHLO"), commands[index - 1]


@pytest.mark.parametrize("recipient", ["bob@strict.test", "postmaster@healthy.test", "x@hostile-421.test"])
async def test_the_delivery_rehearsal_never_sends_data(lab: World, recipient: str) -> None:
    plan = send.plan(parse_address("alice@home.test"), parse_address(recipient), "127.0.1.10",
                     "mail.home.test")
    diagnosis = await diagnose(plan, lab.point(Settings(timeout=2, source_ip="127.0.1.10")))
    assert isinstance(diagnosis, Diagnosis)
    assert not any(c.upper().startswith(("DATA", "AUTH", "BDAT")) for c in _commands(lab))


def test_the_probe_cannot_build_auth_or_data_without_a_message() -> None:
    for verb in ("AUTH", "auth", "XAUTH"):
        with pytest.raises(ValueError):
            Command(verb, f"PLAIN {SECRET}")
    with pytest.raises(ValueError):
        Command("DATA")
    with pytest.raises(ValueError):
        Command("MAIL", "FROM:<a@example.org>\r\nAUTH PLAIN x")


@contextlib.asynccontextmanager
async def _login_server() -> AsyncIterator[int]:
    """A server that asks for credentials (334) so that a login is recorded, then refuses it."""

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 login.example ESMTP\r\n")
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            reply = {b"EHLO": b"250-login.example\r\n250 AUTH PLAIN LOGIN\r\n",
                     b"AUTH": b"334 VXNlcm5hbWU6\r\n", b"QUIT": b"221 Bye\r\n"}.get(
                verb, b"535 5.7.8 Authentication credentials invalid\r\n")
            writer.write(reply)
            await writer.drain()
            if verb == b"QUIT":
                break
        writer.close()

    server = await asyncio.start_server(talk, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_a_recorded_login_is_redacted_in_transcript_and_report() -> None:
    lines: list[TranscriptLine] = []
    recorder = SessionRecorder(lambda: 0.0, lines.append)
    async with _login_server() as port:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="probe.example",
                               start_tls=False, use_tls=False, timeout=5)
        token = recording_into(recorder)
        try:
            await smtp.connect()
        finally:
            stop_recording_into(token)
        await smtp.ehlo()
        await smtp.execute_command(b"AUTH", b"PLAIN", SECRET.encode())
        await smtp.execute_command(SECRET.encode())  # the answer to the 334 challenge
        await smtp.quit()
    texts = [line.text for line in lines]
    assert any(t.startswith("AUTH PLAIN") for t in texts)
    assert REDACTED in " ".join(texts)
    transcript = Transcript("login.example", "127.0.0.1", port)
    for line in lines:
        transcript.add(line)
    diagnosis = Diagnosis(kind="relay", target={"host": "login.example"}, findings=[],
                          transcripts=[transcript], lookups=[], elapsed_ms=1.0)
    for shown in (" ".join(texts), transcript.render(), *(render(diagnosis, f) for f in ("text", "json",
                                                                                          "markdown"))):
        assert SECRET not in shown


async def test_the_lab_logs_redact_a_login_too(lab: World) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.2.1", port=lab.smtp_port, local_hostname="probe.example",
                           start_tls=False, use_tls=False, timeout=5)
    await smtp.connect()
    await smtp.ehlo()
    await smtp.execute_command(b"AUTH", b"PLAIN", SECRET.encode())
    await smtp.quit()
    logged = " ".join(c for s in lab.smtp.sessions("127.0.2.1") for c in s.commands)
    assert "AUTH PLAIN" in logged and SECRET not in logged
