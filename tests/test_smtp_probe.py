"""The SMTP probe against real servers on loopback: aiosmtpd for well-behaved SMTP, raw asyncio
servers for the broken and hostile behaviours, and the lab's own hosts.

Every test proves a fact the probe reports, from the server's side where it matters (what the
server actually received). Time limits are generous bounds that prove "did not hang", never
measurements of speed.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP as AiosmtpdServer
from aiosmtpd.smtp import Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mxwizard.core.transcript import Direction, TranscriptLine
from mxwizard.lab.world import World
from mxwizard.probes.smtp.protocol import (
    MAX_SESSION_LINES,
    AnomalyKind,
    SessionRecorder,
    recording_into,
    stop_recording_into,
)
from mxwizard.probes.smtp.session import Command, ConnectOutcome, SessionFacts, SmtpConversation, smtp_session
from mxwizard.probes.smtp.tls import certificate_facts, name_matches

HOST = "mx.probe.test"
HELO = "client.example.org"
TIMEOUT = 2.0
#: Wall-clock bound for one whole session in these tests: proves nothing hung.
HANG = 20.0

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# -- servers ---------------------------------------------------------------------------------------


class Inbox:
    """What an aiosmtpd server received: raw client bytes and delivered messages."""

    def __init__(self) -> None:
        self.raw = bytearray()
        self.messages: list[bytes] = []

    @property
    def commands(self) -> list[str]:
        """Client lines, upper-cased verbs first (message bodies included, as the server saw them)."""
        return [line.decode("utf-8", "replace") for line in bytes(self.raw).split(b"\r\n") if line]

    async def handle_DATA(self, server: AiosmtpdServer, session: Session, envelope: Envelope) -> str:
        """aiosmtpd hook: keep the message."""
        self.messages.append(envelope.original_content or b"")
        return "250 2.0.0 Ok: queued"


class LoggingServer(AiosmtpdServer):
    """aiosmtpd with every byte the client sends kept in the handler's ``raw`` log."""

    def data_received(self, data: bytes) -> None:
        self.event_handler.raw.extend(data)
        super().data_received(data)


class NoEhloServer(LoggingServer):
    """A server from before ESMTP: EHLO is not a command it knows."""

    async def smtp_EHLO(self, arg: str) -> None:
        await self.push("502 5.5.1 Error: command not implemented")


@asynccontextmanager
async def smtpd(server_class: type[AiosmtpdServer] = LoggingServer, *, address: str = "127.0.0.1",
                tls_context: ssl.SSLContext | None = None) -> AsyncIterator[tuple[int, Inbox]]:
    """An aiosmtpd server on an ephemeral port; yields (port, inbox)."""
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: server_class(inbox, hostname=HOST, ident="Probe-test ESMTP", tls_context=tls_context),
        address, 0)
    try:
        yield server.sockets[0].getsockname()[1], inbox
    finally:
        server.close()


@asynccontextmanager
async def raw_server(script: Script, address: str = "127.0.0.1") -> AsyncIterator[int]:
    """A TCP server that runs ``script`` for each connection; yields the port."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the test is over; end quietly (3.11 logs cancelled handlers)
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, address, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def scripted(log: list[str], banner: bytes = b"220 mx.probe.test ESMTP\r\n",
             replies: dict[str, bytes] | None = None, ehlo: bytes | None = None) -> Script:
    """A minimal SMTP server: ``replies`` by verb (default 250), QUIT closes; logs every line."""
    replies = replies or {}

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        while line := await reader.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            log.append(text)
            verb = text.split(" ", 1)[0].upper()
            if verb == "EHLO":
                writer.write(ehlo or b"250-mx.probe.test\r\n250 PIPELINING\r\n")
            else:
                writer.write(replies.get(verb, b"221 bye\r\n" if verb == "QUIT" else b"250 2.0.0 Ok\r\n"))
            await writer.drain()
            if verb == "QUIT" or replies.get(verb, b"").startswith(b"421"):
                return

    return script


async def run(port: int, steps: list[Command], *, address: str = "127.0.0.1", host: str = HOST,
              timeout: float = TIMEOUT, **options: object) -> SessionFacts:
    """Run a probe session with a bound on wall time."""
    seen: list[TranscriptLine] = []
    facts = await asyncio.wait_for(
        smtp_session(host, address, port, helo=HELO, steps=steps, timeout=timeout,
                     on_line=seen.append, **options),  # type: ignore[arg-type]
        HANG)
    await asyncio.sleep(0.05)  # let the transport's last callbacks land
    assert seen == facts.lines  # the sink saw every line, in order
    return facts


RECEIVE_STEPS = [Command.ehlo(), Command.mail_from("alice@example.org"),
                 Command.rcpt_to("bob@probe.test"), Command.rset()]


def anomaly_kinds(facts: SessionFacts) -> list[AnomalyKind]:
    return [anomaly.kind for anomaly in facts.anomalies]


# -- certificates ----------------------------------------------------------------------------------


def make_certificate(names: list[str], *, days: tuple[int, int] = (-1, 30),
                     common_name: str | None = None) -> tuple[bytes, bytes]:
    """A self-signed EC certificate (PEM) for ``names``, valid from/to ``days`` relative to now."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(days=days[0]))
               .not_valid_after(now + datetime.timedelta(days=days[1])))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def der_of(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def server_context(names: list[str]) -> ssl.SSLContext:
    cert_pem, key_pem = make_certificate(names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


# -- a whole conversation ---------------------------------------------------------------------------


async def test_full_conversation_is_recorded_with_a_note_on_every_line() -> None:
    async with smtpd() as (port, inbox):
        facts = await run(port, RECEIVE_STEPS)
    assert facts.outcome is ConnectOutcome.GREETED
    assert facts.banner is not None and facts.banner.code == 220
    assert [(e.verb, e.reply.code if e.reply else None) for e in facts.exchanges] == [
        ("EHLO", 250), ("MAIL", 250), ("RCPT", 250), ("RSET", 250), ("QUIT", 221)]
    assert facts.ended == "quit" and facts.error is None and facts.anomalies == []
    # Every line has a short note; the multi-line EHLO reply arrives line by line.
    assert all(line.note and len(line.note) <= 72 for line in facts.lines), facts.transcript().render()
    server_lines = [line.text for line in facts.lines if line.dir is Direction.SERVER]
    assert "250-SIZE 33554432" in server_lines and "250 HELP" in server_lines
    assert facts.extensions == {"SIZE": "33554432", "8BITMIME": "", "HELP": ""}
    assert not facts.starttls_offered
    client_lines = [line.text for line in facts.lines if line.dir is Direction.CLIENT]
    assert client_lines == [f"EHLO {HELO}", "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@probe.test>",
                            "RSET", "QUIT"]
    # What the server received is exactly what the transcript says we sent: no DATA.
    assert inbox.commands == client_lines and inbox.messages == []
    ehlo_line = next(line for line in facts.lines if line.text.startswith("EHLO"))
    assert HELO in ehlo_line.note and "extensions" in ehlo_line.note
    times = [line.t_ms for line in facts.lines]
    assert times == sorted(times)
    rendered = facts.transcript().render()
    assert "-> EHLO client.example.org" in rendered and "<- 250-SIZE 33554432" in rendered


async def test_source_address_is_used_and_named() -> None:
    async with smtpd(address="127.0.0.31") as (port, _inbox):
        facts = await run(port, [Command.ehlo()], address="127.0.0.31", source_ip="127.0.0.32")
    assert facts.lines[0].text == f"connecting to 127.0.0.31:{port} from 127.0.0.32"
    assert facts.lines[1].text.startswith("connected from 127.0.0.32:")


async def test_helo_fallback_when_ehlo_is_not_implemented() -> None:
    async with smtpd(NoEhloServer) as (port, inbox):
        facts = await run(port, RECEIVE_STEPS)
    assert facts.helo_fallback
    assert [(e.verb, e.reply.code if e.reply else None) for e in facts.exchanges][:2] == [
        ("EHLO", 502), ("HELO", 250)]
    assert facts.ehlo is not None and facts.ehlo.code == 250 and facts.extensions == {}
    assert inbox.commands[:2] == [f"EHLO {HELO}", f"HELO {HELO}"]
    assert facts.last("RCPT") is not None and facts.last("RCPT").reply.code == 250  # type: ignore[union-attr]


# -- TLS -------------------------------------------------------------------------------------------


async def test_starttls_with_a_self_signed_certificate_is_a_fact_not_a_failure() -> None:
    async with smtpd(tls_context=server_context([HOST])) as (port, inbox):
        facts = await run(port, [Command.ehlo(), Command.starttls(), Command.mail_from("a@example.org")])
    assert facts.tls is not None and facts.tls_error is None
    assert facts.tls.version.startswith("TLS")
    cert = facts.tls.certificate
    assert cert is not None
    assert cert.self_signed and not cert.expired and not cert.not_yet_valid
    assert cert.name_matches and cert.dns_names == (HOST,)
    assert facts.starttls_offered and facts.extensions_before_tls is not None
    assert "STARTTLS" in facts.extensions_before_tls and "STARTTLS" not in facts.extensions
    # EHLO is sent again inside TLS, and everything after the handshake is marked encrypted.
    assert [e.verb for e in facts.exchanges] == ["EHLO", "STARTTLS", "EHLO", "MAIL", "QUIT"]
    tls_at = next(i for i, line in enumerate(facts.lines) if "established" in line.text)
    assert "self-signed" in facts.lines[tls_at].text
    assert not any(line.encrypted for line in facts.lines[:tls_at])
    wire = [line for line in facts.lines[tls_at:] if line.dir in (Direction.CLIENT, Direction.SERVER)]
    assert wire and all(line.encrypted for line in wire)
    assert "-> [tls] MAIL FROM:<a@example.org>" in facts.transcript().render()
    # The server saw the plaintext EHLO and STARTTLS and then (decrypted) the rest.
    assert inbox.commands[:2] == [f"EHLO {HELO}", "STARTTLS"]


async def test_certificate_for_another_name_is_reported() -> None:
    async with smtpd(tls_context=server_context(["mail.elsewhere.test"])) as (port, _):
        facts = await run(port, [Command.ehlo(), Command.starttls(required=True)])
    assert facts.tls is not None and facts.tls.certificate is not None
    assert not facts.tls.certificate.name_matches
    established = next(line.text for line in facts.lines if "established" in line.text)
    assert "does not name mx.probe.test" in established


async def test_starttls_not_offered_is_noted_and_required_tls_ends_the_session() -> None:
    async with smtpd() as (port, inbox):
        facts = await run(port, [Command.ehlo(), Command.starttls(required=True),
                                 Command.mail_from("a@example.org")])
    assert facts.tls is None and not facts.starttls_offered
    assert any(line.text == "the server does not offer STARTTLS" for line in facts.lines)
    assert "STARTTLS" not in inbox.commands and not any(c.startswith("MAIL") for c in inbox.commands)
    assert facts.ended == "quit"


def test_certificate_facts_dates_and_names() -> None:
    expired_pem, _ = make_certificate(["mx.old.test"], days=(-30, -1))
    expired = certificate_facts(der_of(expired_pem), "mx.old.test")
    assert expired.expired and not expired.not_yet_valid and expired.days_left < 0
    future_pem, _ = make_certificate(["mx.new.test"], days=(2, 30))
    assert certificate_facts(der_of(future_pem), "mx.new.test").not_yet_valid
    wildcard_pem, _ = make_certificate(["*.probe.test"])
    assert certificate_facts(der_of(wildcard_pem), "MX.probe.test.").name_matches
    assert not certificate_facts(der_of(wildcard_pem), "a.mx.probe.test").name_matches
    assert not certificate_facts(der_of(wildcard_pem), "probe.test").name_matches
    legacy_pem, _ = make_certificate([], common_name="mx.legacy.test")
    legacy = certificate_facts(der_of(legacy_pem), "mx.legacy.test")
    assert legacy.name_matches and legacy.matched_by_common_name and legacy.self_signed
    assert name_matches("127.0.0.1", (), ("127.0.0.1",), None) == (True, False)
    assert name_matches("127.0.0.1", ("127.0.0.1",), (), None) == (False, False)
    assert name_matches("x.test", ("*.test",), (), None) == (False, False)


# -- connection failures ----------------------------------------------------------------------------


@contextmanager
def bound_but_closed(address: str = "127.0.0.1") -> Iterator[int]:
    """A port that is certainly not listening (bound by us, never listened on)."""
    sock = socket.socket()
    sock.bind((address, 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_refused_connection() -> None:
    with bound_but_closed() as port:
        facts = await run(port, RECEIVE_STEPS)
    assert facts.outcome is ConnectOutcome.REFUSED and not facts.outcome.tcp_connected
    assert facts.error == f"connection to 127.0.0.1:{port} refused"
    assert facts.exchanges == [] and facts.ended == "not connected"
    assert facts.lines[-1].dir is Direction.ERROR and "nothing accepts connections" in facts.lines[-1].note


@contextmanager
def full_backlog(address: str = "127.0.0.1") -> Iterator[int]:
    """A listening socket that never accepts, its backlog filled: new SYNs are dropped."""
    listener = socket.socket()
    listener.bind((address, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect((address, port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_connect_timeout_ends_within_the_timeout() -> None:
    with full_backlog() as port:
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        facts = await run(port, RECEIVE_STEPS, timeout=0.5)
        took = loop.time() - started
    assert facts.outcome is ConnectOutcome.TIMEOUT
    assert facts.error == f"no answer from 127.0.0.1:{port} within 0.5 s"
    assert took < 5.0  # generous: proves the 0.5 s limit held, not how fast it was


async def test_a_server_that_never_greets() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as port:
        facts = await run(port, RECEIVE_STEPS, timeout=0.5)
    assert facts.outcome is ConnectOutcome.NO_GREETING and facts.outcome.tcp_connected
    assert "no greeting" in (facts.error or "") and facts.banner is None


async def test_slow_drip_greeting_ends_within_the_reply_timeout() -> None:
    banner = b"220 drip.probe.test ESMTP a very patient server\r\n"

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in banner:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.3)

    loop = asyncio.get_running_loop()
    async with raw_server(drip) as port:
        started = loop.time()
        facts = await run(port, RECEIVE_STEPS, timeout=1.0)
        took = loop.time() - started
    assert took < 8.0  # the dripping banner would take 15 s; the 1 s budget is a total, not idle
    assert facts.outcome is ConnectOutcome.NO_GREETING
    assert anomaly_kinds(facts) == [AnomalyKind.INCOMPLETE_LINE]
    partial = next(line for line in facts.lines if line.dir is Direction.SERVER)
    assert banner.decode().startswith(partial.text) and partial.text.startswith("22")
    assert partial.note.startswith("incomplete")


async def test_slow_drip_reply_mid_session_is_a_timeout_fact() -> None:
    log: list[str] = []

    async def drip_mail(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        while line := await reader.readline():
            log.append(line.decode().strip())
            if line.startswith(b"MAIL"):
                for byte in b"250 2.1.0 eventually\r\n":
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.3)
            writer.write(b"250 ok\r\n")

    async with raw_server(drip_mail) as port:
        facts = await run(port, RECEIVE_STEPS, timeout=1.0)
    mail = facts.last("MAIL")
    assert mail is not None and mail.reply is None and "within 1 s" in (mail.error or "")
    assert facts.ended == "timeout" and facts.last("RCPT") is None
    assert not any(entry.startswith("RCPT") for entry in log)


async def test_garbage_greeting() -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await reader.read()

    async with raw_server(ssh) as port:
        facts = await run(port, RECEIVE_STEPS)
    assert facts.outcome is ConnectOutcome.BAD_GREETING
    assert anomaly_kinds(facts) == [AnomalyKind.BANNER_NOT_A_REPLY]
    assert "SSH server" in facts.anomalies[0].detail
    assert facts.lines[2].text == "SSH-2.0-OpenSSH_9.6" and "not an SMTP reply" in facts.lines[2].note


async def test_banner_rejection_is_a_greeting_not_a_connect_error() -> None:
    log: list[str] = []
    async with raw_server(scripted(log, banner=b"554 5.7.1 mx.probe.test: no mail from you\r\n")) as port:
        facts = await run(port, RECEIVE_STEPS)
    assert facts.outcome is ConnectOutcome.GREETED and facts.ended == "greeting refused"
    assert facts.banner is not None and facts.banner.code == 554 and facts.banner.enhanced == "5.7.1"
    assert log == [] and facts.exchanges == []


# -- a server out of rhythm -------------------------------------------------------------------------


async def test_two_replies_in_one_segment_are_detected_and_pairing_survives() -> None:
    log: list[str] = []
    replies = {"MAIL": b"250 2.1.0 Ok\r\n250 2.1.5 an extra reply\r\n",
               "RCPT": b"550 5.1.1 <bob@probe.test>: no such user\r\n"}
    async with raw_server(scripted(log, replies=replies)) as port:
        facts = await run(port, RECEIVE_STEPS)
    assert anomaly_kinds(facts) == [AnomalyKind.OUT_OF_STEP]
    assert facts.anomalies[0].line == "250 2.1.5 an extra reply"
    # A naive client would now read "250 an extra reply" as the answer to RCPT; the probe does not.
    rcpt = facts.last("RCPT")
    assert rcpt is not None and rcpt.reply is not None and rcpt.reply.code == 550
    assert rcpt.reply.enhanced == "5.1.1"
    extra = next(line for line in facts.lines if line.text == "250 2.1.5 an extra reply")
    assert "out of step" in extra.note


async def test_an_unsolicited_line_between_commands_is_detected() -> None:
    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250 mx.probe.test\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b"250 nobody asked for this\r\n")
        await writer.drain()
        while line := await reader.readline():
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")

    async with raw_server(chatty) as port:
        conversation = SmtpConversation(HOST, "127.0.0.1", port, helo=HELO, timeout=TIMEOUT,
                                        on_line=lambda line: None)
        assert await conversation.open()
        await conversation.ehlo()
        await asyncio.sleep(0.5)  # we are idle: nothing is owed to us now
        mail = await conversation.command("MAIL", "FROM:<a@example.org>")
        await conversation.close()
    facts = conversation.facts
    assert anomaly_kinds(facts) == [AnomalyKind.UNSOLICITED]
    assert facts.anomalies[0].line == "250 nobody asked for this"
    assert mail is not None and mail.text == "ok"  # MAIL got its own reply, not the stray line


async def test_non_utf8_bytes_are_kept_and_shown_as_escapes() -> None:
    log: list[str] = []
    banner = b"220 mx.probe.test \xff\xfe caf\xc3\xa9 \x1b[31mred\r\n"
    async with raw_server(scripted(log, banner=banner)) as port:
        facts = await run(port, [Command.ehlo()])
    greeting = next(line for line in facts.lines if line.dir is Direction.SERVER)
    assert greeting.text.encode("utf-8", "surrogateescape") == banner[:-2]
    rendered = facts.transcript().render()
    assert "\\xff\\xfe café \\e[31mred" in rendered and "\x1b" not in rendered
    assert "\\xff" in str(greeting.to_json()["text"])


async def test_421_in_the_middle_of_a_session() -> None:
    log: list[str] = []
    replies = {"MAIL": b"421 4.7.0 mx.probe.test Too many connections, closing\r\n"}
    async with raw_server(scripted(log, replies=replies)) as port:
        facts = await run(port, RECEIVE_STEPS)
    mail = facts.last("MAIL")
    assert mail is not None and mail.reply is not None and mail.reply.code == 421
    assert facts.ended == "421" and facts.last("RCPT") is None
    assert [entry.split(" ")[0] for entry in log] == ["EHLO", "MAIL"]
    assert "temporary" in next(line.note for line in facts.lines if line.text.startswith("421"))


async def test_line_too_long_is_cut_and_reported() -> None:
    log: list[str] = []
    async with raw_server(scripted(log, ehlo=b"250-" + b"A" * 20000 + b"\r\n250 OK\r\n")) as port:
        facts = await run(port, [Command.ehlo(), Command.noop()])
    assert AnomalyKind.LINE_TOO_LONG in anomaly_kinds(facts)
    assert max(len(line.text) for line in facts.lines) <= 4096
    assert facts.ended == "protocol error"


# -- bounds of a whole session: lines and wall clock -----------------------------------------------


async def test_surplus_lines_between_commands_count_against_the_session_cap() -> None:
    sent = 3 * MAX_SESSION_LINES

    async def talkative(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250 mx.probe.test\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)  # a segment of its own, while no command waits: unsolicited
        writer.write(b"".join(b"250 surplus line %d\r\n" % n for n in range(sent)))
        await writer.drain()
        while line := await reader.readline():
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()

    async with raw_server(talkative) as port:
        conversation = SmtpConversation(HOST, "127.0.0.1", port, helo=HELO, timeout=TIMEOUT,
                                        on_line=lambda line: None)
        assert await conversation.open()
        await conversation.ehlo()
        await asyncio.sleep(0.5)  # we are idle while the flood arrives
        mail = await conversation.command("MAIL", "FROM:<a@example.org>")
        await conversation.close()
    facts = conversation.facts
    server = [line for line in facts.lines if line.dir is Direction.SERVER]
    assert len(server) == MAX_SESSION_LINES  # greeting, EHLO reply and surplus lines alike
    assert anomaly_kinds(facts).count(AnomalyKind.TOO_MANY_LINES) == 1
    assert anomaly_kinds(facts).count(AnomalyKind.UNSOLICITED) == MAX_SESSION_LINES - 2
    [marker] = [line.text for line in facts.lines if "were not recorded" in line.text]
    unrecorded = int(marker.split()[1])
    assert marker == f"… {unrecorded} more lines from the server were not recorded"
    assert 0 < unrecorded <= sent + 2 - MAX_SESSION_LINES
    assert mail is None and facts.cut_off and facts.ended == "too many lines"
    assert facts.error is not None and "cut off" in facts.error
    assert f"more than {MAX_SESSION_LINES} lines" in facts.error
    assert len(facts.lines) < MAX_SESSION_LINES + 20


def slow_server(delay: float) -> Script:
    """Greets and answers every command ``delay`` seconds late (each reply in time)."""
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        await writer.drain()
        while line := await reader.readline():
            await asyncio.sleep(delay)
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()
    return script


async def test_a_server_slow_in_every_reply_is_cut_off_by_the_conversation_budget() -> None:
    async with raw_server(slow_server(0.4)) as port:
        started = asyncio.get_running_loop().time()
        facts = await run(port, RECEIVE_STEPS, timeout=1.0, budget=1.5, purpose="the test run")
        elapsed = asyncio.get_running_loop().time() - started
    # Greeting, EHLO and MAIL came in time (0.4 s each); RCPT would have come at 1.6 s.
    assert [e.verb for e in facts.exchanges if e.reply is not None] == ["EHLO", "MAIL"]
    assert facts.outcome is ConnectOutcome.GREETED and facts.ended == "too slow" and facts.cut_off
    assert facts.error == (f"{HOST} [127.0.0.1] answered slowly but within each reply's time "
                           "limit: the test run took longer than 1.5 s and was cut off")
    assert facts.lines[-1].dir is Direction.ERROR and facts.lines[-1].text == facts.error
    assert elapsed < 1.5 + 3.0, "the budget holds (a generous margin: this is no speed test)"


async def test_the_default_budget_of_a_session_is_a_few_timeouts() -> None:
    async with raw_server(slow_server(0.4)) as port:
        facts = await run(port, RECEIVE_STEPS, timeout=0.5)  # 4 x 0.5 s = 2 s in all
    assert facts.ended == "too slow"
    assert facts.error is not None and "the conversation took longer than 2 s" in facts.error


async def test_without_a_budget_a_slow_server_gets_each_reply_limit_only() -> None:
    async with raw_server(slow_server(0.4)) as port:
        conversation = SmtpConversation(HOST, "127.0.0.1", port, helo=HELO, timeout=1.0,
                                        on_line=lambda line: None)
        assert conversation.budget is None  # a person stepping through a session may pause
        assert await conversation.open()
        for step in RECEIVE_STEPS:
            await conversation.run(step)
        await conversation.close()
    assert conversation.facts.ended == "quit" and not conversation.facts.cut_off


# -- DATA and AUTH: never by accident ---------------------------------------------------------------


async def test_data_is_never_sent_by_default() -> None:
    with pytest.raises(ValueError):
        Command("DATA")
    with pytest.raises(ValueError):
        Command("AUTH", "PLAIN dXNlcgB1c2VyAHNlY3JldA==")
    message = b"From: a@example.org\r\nTo: bob@probe.test\r\nSubject: test\r\n\r\nsecret body\r\n"
    async with smtpd() as (port, inbox):
        with pytest.raises(ValueError):
            await run(port, [*RECEIVE_STEPS[:3], Command.test_message(message)])
        facts = await run(port, RECEIVE_STEPS)
        assert not any(command.upper().startswith("DATA") for command in inbox.commands)
        allowed = await run(port, [*RECEIVE_STEPS[:3], Command.test_message(message)], allow_data=True)
    assert len(inbox.messages) == 1 and b"secret body" in inbox.messages[0]
    assert facts.last("DATA") is None
    data = allowed.last("DATA")
    assert data is not None and data.reply is not None and data.reply.code == 250
    assert data.command == "DATA + message"
    texts = [line.text for line in allowed.lines]
    assert "DATA" in texts and "." in texts and any(text.startswith("<message: ") for text in texts)
    assert not any("secret body" in text for text in texts)  # the body is summarised, not recorded


async def test_data_is_skipped_when_no_recipient_was_accepted() -> None:
    log: list[str] = []
    async with raw_server(scripted(log, replies={"RCPT": b"550 5.1.1 no such user\r\n"})) as port:
        facts = await run(port, [*RECEIVE_STEPS[:3], Command.test_message(b"Subject: x\r\n\r\nx\r\n")],
                          allow_data=True)
    assert not any(entry.startswith("DATA") for entry in log)
    data = facts.last("DATA")
    assert data is not None and (data.error or "").startswith("skipped")


async def test_auth_arguments_and_answers_are_redacted_in_the_transcript() -> None:
    log: list[str] = []
    ehlo = b"250-mx.probe.test\r\n250 AUTH PLAIN LOGIN\r\n"
    replies = {"AUTH": b"334 VXNlcm5hbWU6\r\n"}

    async def login_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        while line := await reader.readline():
            log.append(line.decode().strip())
            if line.startswith(b"EHLO"):
                writer.write(ehlo)
            elif line.startswith(b"AUTH PLAIN"):
                writer.write(b"535 5.7.8 no\r\n")
            elif line.startswith(b"AUTH LOGIN"):
                writer.write(replies["AUTH"])
            elif line.startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                return
            else:
                writer.write(b"334 UGFzc3dvcmQ6\r\n" if len(log) == 3 else b"235 2.7.0 ok\r\n")

    async with raw_server(login_server) as port:
        lines: list[TranscriptLine] = []
        recorder = SessionRecorder(lambda: 0.0, lines.append)
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname=HELO,
                                 start_tls=False, timeout=TIMEOUT)
        token = recording_into(recorder)
        try:
            await client.connect()
        finally:
            stop_recording_into(token)
        await client.ehlo()
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await client.auth_plain("user", "hunter2")
        await client.auth_login("user", "hunter2")
        await client.quit()
    secret = base64.b64encode(b"hunter2").decode()
    plain = base64.b64encode(b"\0user\0hunter2").decode()
    assert any(secret in entry for entry in log)  # the server did get the password...
    recorded = " ".join(line.text for line in lines)
    assert secret not in recorded and plain not in recorded and "hunter2" not in recorded  # ...we not
    assert "AUTH PLAIN <redacted>" in recorded and "AUTH LOGIN <redacted>" in recorded


# -- the lab's hosts -------------------------------------------------------------------------------


async def test_lab_healthy_host_with_starttls(lab: World) -> None:
    host = lab.host("mx1.healthy.test")
    facts = await run(lab.smtp_port, [Command.ehlo(), Command.starttls(), *RECEIVE_STEPS[1:]],
                      address=host.ip, host=host.name, source_ip="127.0.1.110")
    assert facts.outcome is ConnectOutcome.GREETED and facts.tls is not None
    # the healthy hosts present the lab CA's certificate, and send the CA along (the whole
    # chain is kept, for the chain check and DANE)
    assert facts.tls.certificate is not None and not facts.tls.certificate.self_signed
    assert facts.tls.certificate.issuer == "CN=mxwizard lab CA" and len(facts.tls.chain) == 2
    assert facts.tls.certificate.name_matches
    assert all(line.note for line in facts.lines)


async def test_lab_black_hole_times_out(lab: World) -> None:
    host = lab.host("mx1.blackhole.test")
    facts = await run(lab.smtp_port, RECEIVE_STEPS, address=host.ip, host=host.name, timeout=0.5)
    assert facts.outcome in (ConnectOutcome.TIMEOUT, ConnectOutcome.NO_GREETING)
    assert facts.exchanges == []


async def test_plaintext_after_starttls_220_is_reported_as_injection() -> None:
    context = server_context([HOST])

    async def injecting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-mx.probe.test\r\n250 STARTTLS\r\n")
        await reader.readline()
        writer.write(b"220 2.0.0 go ahead\r\n250 injected before the handshake\r\n")
        await writer.drain()
        await writer.start_tls(context)
        while line := await reader.readline():
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()

    async with raw_server(injecting) as port:
        facts = await run(port, [Command.ehlo(), Command.starttls(), Command.mail_from("a@example.org")])
    assert anomaly_kinds(facts) == [AnomalyKind.STARTTLS_INJECTION]
    assert facts.anomalies[0].line == "250 injected before the handshake"
    assert facts.tls is not None and facts.ended == "quit"
    # The injected line was not taken as the answer to the EHLO inside TLS.
    assert [(e.verb, e.reply.text if e.reply else None) for e in facts.exchanges][2:4] == [
        ("EHLO", "ok"), ("MAIL", "ok")]


async def test_a_failed_tls_handshake_is_a_fact() -> None:
    ehlo = b"250-mx.probe.test\r\n250 STARTTLS\r\n"

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.probe.test ESMTP\r\n")
        await reader.readline()
        writer.write(ehlo)
        await reader.readline()
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()
        await reader.read(1)  # the client's TLS hello arrives; we answer with plain text
        writer.write(b"this is not TLS at all\r\n" * 4)
        await writer.drain()
        await asyncio.sleep(0.5)

    async with raw_server(script) as port:
        facts = await run(port, [Command.ehlo(), Command.starttls(), Command.mail_from("a@example.org")])
    assert facts.tls is None and (facts.tls_error or "").startswith("TLS handshake failed")
    assert facts.ended == "tls failed" and facts.last("MAIL") is None
    failure = next(line for line in facts.lines if line.text.startswith("TLS handshake failed"))
    assert failure.dir is Direction.ERROR and "encryption could not be set up" in failure.note


async def test_mixed_codes_in_one_reply_are_reported() -> None:
    log: list[str] = []
    async with raw_server(scripted(log, ehlo=b"250-mx.probe.test\r\n550 STARTTLS\r\n")) as port:
        facts = await run(port, [Command.ehlo()])
    assert anomaly_kinds(facts) == [AnomalyKind.MIXED_CODES]


async def test_bad_arguments_are_usage_errors_not_network_facts() -> None:
    for helo in ("", "two words", "bad\r\nMAIL FROM:<x>", "naïve.example"):
        with pytest.raises(ValueError):
            await smtp_session(HOST, "127.0.0.1", 25, helo=helo, steps=[], timeout=1, on_line=print)
    with pytest.raises(ValueError):  # a name where an address belongs: never resolved behind our back
        await smtp_session(HOST, "mx.probe.test", 25, helo=HELO, steps=[], timeout=1, on_line=print)
    with pytest.raises(ValueError):
        Command.rcpt_to("bob@probe.test>\r\nDATA")
