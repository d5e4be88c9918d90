"""The lab's SMTP hosts, driven over real loopback sockets by aiosmtplib and by the real `swaks`.

Each host behaviour the wizard must recognise is checked from the outside, the way a sending
server would meet it: the reply codes and texts, when they come (which command), what the host
logged, TLS, refused and black-holed connections. The client checks use the lab's own DNS server
with small zones of their own. `swaks` runs as an asyncio subprocess so the hosts (on the same
event loop) keep answering while it waits.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aiosmtplib
import dns.zone
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from mxwizard.lab.certificates import self_signed_certificate, server_tls_context
from mxwizard.lab.dns_server import Fault, LabDnsServer
from mxwizard.lab.smtp_hosts import (
    HostSpec,
    LabSmtp,
    SessionLog,
    destination_reply,
    helo_rejection,
)

DNS_HOST = "127.0.0.1"
ZONE = "dnsbl.lab.test"

# Client ("sending server") addresses and what the lab DNS says about them.
GOOD_CLIENT = "127.0.1.110"  # PTR mail.good.test, which resolves back to it
NO_PTR_CLIENT = "127.0.1.111"  # no PTR at all
UNCONFIRMED_CLIENT = "127.0.1.112"  # PTR mail.noconfirm.test, which resolves elsewhere
LISTED_CLIENT = "127.0.1.114"  # forward-confirmed, but on the blocklist
BROKEN_DNS_CLIENT = "127.0.1.115"  # the reverse lookup fails (SERVFAIL)
LISTING_REASON = "Listed for spamming lab traps"

SENDERS_ZONE = """
$TTL 300
@          SOA  ns1 hostmaster 1 3600 600 86400 60
@          NS   ns1
ns1        A    127.0.0.1
mail.good  A    127.0.1.110
mail.noconfirm A 127.0.1.99
mail.listed A   127.0.1.114
mail.broken A   127.0.1.115
"""
REVERSE_ZONE = """
$TTL 300
@    SOA  ns1.senders.test. hostmaster.senders.test. 1 3600 600 86400 60
@    NS   ns1.senders.test.
110  PTR  mail.good.senders.test.
112  PTR  mail.noconfirm.senders.test.
114  PTR  mail.listed.senders.test.
115  PTR  mail.broken.senders.test.
"""
DNSBL = f"""
$TTL 300
@             SOA  ns1.senders.test. hostmaster.senders.test. 1 3600 600 86400 60
@             NS   ns1.senders.test.
2.0.0.127     A    127.0.0.2
2.0.0.127     TXT  "RFC 5782 test entry"
114.1.0.127   A    127.0.0.2
114.1.0.127   TXT  "{LISTING_REASON}"
"""

HEALTHY = HostSpec("mx1.healthy.test", "127.0.2.101", domains=("healthy.test",), users=("alice", "bob"))
OPEN = HostSpec("relay.open.test", "127.0.2.102", domains=("open.test",), open_relay=True)
STRICT = HostSpec(
    "mx.strict.test", "127.0.2.103", domains=("strict.test",), helo_checks=True, client_checks=True
)
GREYLIST = HostSpec("mx.greylist.test", "127.0.2.104", domains=("greylist.test",), greylist_seconds=0.5)
GREYLIST_LONG = HostSpec("mx.slowgrey.test", "127.0.2.105", domains=("slowgrey.test",), greylist_seconds=3600)
BANNER554 = HostSpec("mx.closed.test", "127.0.2.106", domains=("closed.test",), banner="reject")
NOTLS = HostSpec("mx.notls.test", "127.0.2.107", domains=("notls.test",), starttls=False)
DOWN = HostSpec("down.backup.test", "127.0.2.108", mode="refuse")
MISMATCH = HostSpec(
    "mx.mismatch.test", "127.0.2.109", domains=("mismatch.test",), banner_name="mail.elsewhere.test"
)
NODATA = HostSpec("mx.picky.test", "127.0.2.110", domains=("picky.test",), accept_data=False)
BLACKHOLE = HostSpec("mx1.blackhole.test", "127.0.2.111", mode="blackhole")
HOSTS = (HEALTHY, OPEN, STRICT, GREYLIST, GREYLIST_LONG, BANNER554, NOTLS, DOWN, MISMATCH, NODATA)

needs_swaks = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
StartLab = Callable[..., Awaitable[LabSmtp]]


@pytest.fixture
async def dns_port() -> AsyncIterator[int]:
    """The lab DNS server with the senders' forward, reverse and blocklist zones."""
    zones = [
        dns.zone.from_text(SENDERS_ZONE, origin="senders.test.", relativize=False),
        dns.zone.from_text(REVERSE_ZONE, origin="1.0.127.in-addr.arpa.", relativize=False),
        dns.zone.from_text(DNSBL, origin=f"{ZONE}.", relativize=False),
    ]
    server = LabDnsServer(zones, faults={"115.1.0.127.in-addr.arpa": (Fault.SERVFAIL, 0)})
    port = await server.start(DNS_HOST, 0)
    yield port
    await server.close()


@pytest.fixture
async def start_lab(dns_port: int) -> AsyncIterator[StartLab]:
    """Start LabSmtp instances on demand; every one is closed at the end of the test."""
    started: list[LabSmtp] = []

    async def start(hosts: Sequence[HostSpec] = HOSTS, port: int = 0, **options: float) -> LabSmtp:
        lab = LabSmtp(hosts, resolver=(DNS_HOST, dns_port), dnsbl_zone=ZONE, **options)  # type: ignore[arg-type]
        await lab.start(port)
        started.append(lab)
        return lab

    yield start
    for lab in started:
        await lab.close()


@pytest.fixture
async def lab(start_lab: StartLab) -> LabSmtp:
    """The usual set of hosts (no black hole: filling its backlog takes a moment)."""
    return await start_lab()


def client(lab: LabSmtp, host: HostSpec, source: str | None = None, helo: str = "mail.good.senders.test",
           timeout: float = 5.0) -> aiosmtplib.SMTP:
    """An aiosmtplib client for `host`, optionally connecting from a chosen loopback address."""
    assert lab.port is not None
    return aiosmtplib.SMTP(
        hostname=host.ip,
        port=lab.port,
        local_hostname=helo,
        source_address=(source, 0) if source else None,
        start_tls=False,
        timeout=timeout,
    )


async def rcpt_reply(lab: LabSmtp, host: HostSpec, to: str, *, source: str | None = GOOD_CLIENT,
                     helo: str = "mail.good.senders.test", sender: str = "alice@senders.test") -> str:
    """Connect, EHLO, MAIL, RCPT, QUIT; return the RCPT reply as "code text"."""
    smtp = client(lab, host, source=source, helo=helo)
    await smtp.connect()
    try:
        await smtp.ehlo()
        await smtp.mail(sender)
        reply = await smtp.execute_command(f"RCPT TO:<{to}>".encode())
    finally:
        await smtp.quit()
    return f"{reply.code} {reply.message}"


async def swaks(lab: LabSmtp, host: HostSpec, *args: str, timeout: int = 10) -> tuple[int, str]:
    """Run the real swaks against `host`; return its exit status and its transcript."""
    process = await asyncio.create_subprocess_exec(
        "swaks", "--server", f"{host.ip}:{lab.port}", "--timeout", str(timeout), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode("utf-8", "replace")


def only(logs: list[SessionLog]) -> SessionLog:
    assert len(logs) == 1, logs
    return logs[0]


# -- pure decisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("helo", "code"),
    [
        ("mail.good.test", None),
        ("mail.good.test.", None),
        ("[127.0.1.10]", None),
        ("[IPv6:::1]", None),
        ("under_score.example.test", None),
        ("localhost", "504"),
        ("mailserver", "504"),
        ("127.0.1.10", "504"),
        ("bad..name.test", "501"),
        ("-dash.example.test", "501"),
        ("what!ever.test", "501"),
        ("[999.1.1.1]", "501"),
    ],
)
def test_helo_rules_follow_postfix(helo: str, code: str | None) -> None:
    reply = helo_rejection(helo)
    if code is None:
        assert reply is None
    else:
        assert reply is not None and reply.startswith(f"{code} 5.5.2 <{helo}>: Helo command rejected:")


@pytest.mark.parametrize(
    ("address", "start"),
    [
        ("alice@healthy.test", "250 2.1.5"),
        ("ALICE@Healthy.Test", "250 2.1.5"),
        ("postmaster@healthy.test", "250 2.1.5"),
        ("Postmaster", "250 2.1.5"),
        ("carol@healthy.test", "550 5.1.1 <carol@healthy.test>: Recipient address rejected: User unknown"),
        ("victim@foreign.example", "554 5.7.1 <victim@foreign.example>: Relay access denied"),
        ("victim%foreign.example@healthy.test", "554 5.7.1"),
        ('"victim@foreign.example"@healthy.test', "554 5.7.1"),
        ("foreign.example!victim@healthy.test", "554 5.7.1"),
        ("alice", "504 5.5.2"),
    ],
)
def test_recipient_rules(address: str, start: str) -> None:
    assert destination_reply(HEALTHY, address).startswith(start)


def test_hosts_never_leave_loopback() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        HostSpec("mx.example.test", "192.0.2.1")
    with pytest.raises(ValueError, match="mode"):
        HostSpec("mx.example.test", "127.0.2.1", mode="sleepy")
    with pytest.raises(ValueError, match="own IP"):
        LabSmtp([HEALTHY, HEALTHY], resolver=(DNS_HOST, 53))


def test_certificate_names_the_host_and_is_cached() -> None:
    first = self_signed_certificate("mx.cert.test")
    assert self_signed_certificate("mx.cert.test") is first
    certificate = x509.load_pem_x509_certificate(first.cert_pem)
    assert certificate.subject == certificate.issuer
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mx.cert.test"
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mx.cert.test"]
    assert isinstance(server_tls_context("mx.cert.test"), ssl.SSLContext)


# -- healthy delivery, unknown users, relaying ------------------------------------------------


async def test_healthy_delivery_with_aiosmtplib(lab: LabSmtp) -> None:
    smtp = client(lab, HEALTHY)
    banner = await smtp.connect()
    assert (banner.code, banner.message) == (220, "mx1.healthy.test ESMTP")
    ehlo = await smtp.ehlo()
    assert ehlo.message.splitlines()[0] == "mx1.healthy.test"
    for extension in ("pipelining", "size", "starttls", "enhancedstatuscodes", "8bitmime", "smtputf8"):
        assert smtp.supports_extension(extension), extension
    assert "Python" not in banner.message and "aiosmtpd" not in ehlo.message
    errors, reply = await smtp.sendmail(
        "sender@senders.test", ["alice@healthy.test"], b"Subject: hello\r\n\r\nHello Alice.\r\n"
    )
    assert errors == {}
    assert reply.startswith("2.0.0 Ok: queued as ")
    await smtp.quit()
    log = only(lab.sessions(HEALTHY.ip))
    assert log.helo == "mail.good.senders.test"
    assert log.commands[0] == "EHLO mail.good.senders.test"
    assert "DATA" in log.commands
    assert log.commands[-1] == "QUIT"
    assert not any("Hello Alice" in line for line in log.commands), "message data is not a command"


@needs_swaks
async def test_healthy_delivery_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, HEALTHY, "--to", "bob@healthy.test", "--from", "sender@senders.test",
                              "--helo", "mail.good.senders.test")
    assert status == 0, out
    assert "220 mx1.healthy.test ESMTP" in out
    assert "250 2.0.0 Ok: queued as" in out
    assert "221 2.0.0 Bye" in out


async def test_unknown_user_is_550_511(lab: LabSmtp) -> None:
    reply = await rcpt_reply(lab, HEALTHY, "carol@healthy.test")
    assert reply == (
        "550 5.1.1 <carol@healthy.test>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    assert (await rcpt_reply(lab, HEALTHY, "postmaster@healthy.test")).startswith("250")


@needs_swaks
async def test_unknown_user_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, HEALTHY, "--to", "carol@healthy.test", "--from", "sender@senders.test",
                              "--helo", "mail.good.senders.test", "--quit-after", "RCPT")
    assert status != 0
    assert "550 5.1.1 <carol@healthy.test>: Recipient address rejected" in out


async def test_relay_denied_is_554_571(lab: LabSmtp) -> None:
    assert await rcpt_reply(lab, HEALTHY, "victim@foreign.example") == (
        "554 5.7.1 <victim@foreign.example>: Relay access denied"
    )
    # The "accepted domains" mistake looks the same from outside: the MX does not know its own domain.
    assert (await rcpt_reply(lab, MISMATCH, "someone@healthy.test")).startswith("554 5.7.1")


@needs_swaks
async def test_relay_denied_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, HEALTHY, "--to", "victim@foreign.example", "--from", "a@foreign.example",
                              "--helo", "mail.good.senders.test", "--quit-after", "RCPT")
    assert status != 0
    assert "554 5.7.1 <victim@foreign.example>: Relay access denied" in out
    assert "DATA" not in only(lab.sessions(HEALTHY.ip)).commands


async def test_open_relay_accepts_foreign_recipients_in_every_disguise(lab: LabSmtp) -> None:
    smtp = client(lab, OPEN)
    await smtp.connect()
    await smtp.ehlo()
    variants = [
        "<victim@foreign.example>",
        "<victim%foreign.example@open.test>",
        '<"victim@foreign.example"@open.test>',
        "<@open.test:victim@foreign.example>",
        "<foreign.example!victim@open.test>",
        "<victim@foreign.example@open.test>",
    ]
    for variant in variants:
        await smtp.rset()
        await smtp.execute_command(b"MAIL FROM:<>")
        reply = await smtp.execute_command(f"RCPT TO:{variant}".encode())
        assert reply.code == 250, (variant, reply)
    await smtp.rset()
    message = b"Subject: x\r\n\r\nx\r\n"
    errors, _ = await smtp.sendmail("spammer@foreign.example", ["victim@foreign.example"], message)
    assert errors == {}
    await smtp.quit()


async def test_strict_relay_refuses_the_same_disguises(lab: LabSmtp) -> None:
    for variant in ("victim%foreign.example@healthy.test", "foreign.example!victim@healthy.test"):
        assert (await rcpt_reply(lab, HEALTHY, variant)).startswith("554 5.7.1")


@needs_swaks
async def test_open_relay_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, OPEN, "--to", "victim@foreign.example", "--from", "spam@foreign.example",
                              "--helo", "mail.good.senders.test")
    assert status == 0, out
    assert "250 2.0.0 Ok: queued as" in out


async def test_rejected_data(lab: LabSmtp) -> None:
    smtp = client(lab, NODATA)
    await smtp.connect()
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await smtp.sendmail("a@senders.test", ["x@picky.test"], b"Subject: x\r\n\r\nx\r\n")
    assert (caught.value.code, caught.value.message) == (550, "5.7.1 Message content rejected")
    await smtp.quit()


async def test_data_without_valid_recipients_and_pipelining(lab: LabSmtp) -> None:
    """A pipelined transaction whose only RCPT fails gets Postfix's "no valid recipients"."""
    assert lab.port is not None
    reader, writer = await asyncio.open_connection(HEALTHY.ip, lab.port)
    try:
        await reader.readline()
        writer.write(b"EHLO mail.good.senders.test\r\nMAIL FROM:<>\r\n")
        writer.write(b"RCPT TO:<nobody@healthy.test>\r\nDATA\r\n")
        while not (await asyncio.wait_for(reader.readline(), 5)).startswith(b"250 "):
            pass  # the rest of the EHLO reply
        replies = [(await asyncio.wait_for(reader.readline(), 5)).decode() for _ in range(3)]
    finally:
        writer.close()
        await writer.wait_closed()
    assert replies[-3].startswith("250 2.1.0 Ok")
    assert replies[-2].startswith("550 5.1.1")
    assert replies[-1] == "554 5.5.1 Error: no valid recipients\r\n"


# -- greylisting, HELO checks, client checks --------------------------------------------------


async def test_greylisting_defers_then_accepts(lab: LabSmtp) -> None:
    first = await rcpt_reply(lab, GREYLIST, "user@greylist.test")
    assert first == "450 4.7.1 <user@greylist.test>: Recipient address rejected: Greylisted, try again later"
    await asyncio.sleep(0.6)
    assert (await rcpt_reply(lab, GREYLIST, "user@greylist.test")).startswith("250 2.1.5")
    # A new triplet (another recipient) starts its own wait.
    assert (await rcpt_reply(lab, GREYLIST, "other@greylist.test")).startswith("450 4.7.1")


async def test_greylisting_keeps_deferring_before_the_delay(lab: LabSmtp) -> None:
    for _ in range(2):
        assert (await rcpt_reply(lab, GREYLIST_LONG, "user@slowgrey.test")).startswith("450 4.7.1")


@pytest.mark.parametrize(
    ("helo", "expected"),
    [
        ("localhost", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"),
        ("mailserver", "504 5.5.2 <mailserver>: Helo command rejected: need fully-qualified hostname"),
        ("bad..name", "501 5.5.2 <bad..name>: Helo command rejected: Invalid name"),
        ("mail.good.senders.test", "250 2.1.5 Ok"),
    ],
)
async def test_helo_checks_at_rcpt(lab: LabSmtp, helo: str, expected: str) -> None:
    assert await rcpt_reply(lab, STRICT, "anyone@strict.test", helo=helo) == expected


@needs_swaks
async def test_helo_checks_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, STRICT, "--to", "anyone@strict.test", "--from", "a@senders.test",
                              "--helo", "localhost", "--local-interface", GOOD_CLIENT, "--quit-after", "RCPT")
    assert status != 0
    assert "250-mx.strict.test" in out, "EHLO itself is accepted; the check bites at RCPT"
    assert "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" in out


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (NO_PTR_CLIENT, f"450 4.7.25 Client host rejected: cannot find your hostname, [{NO_PTR_CLIENT}]"),
        (UNCONFIRMED_CLIENT,
         f"450 4.7.25 Client host rejected: cannot find your hostname, [{UNCONFIRMED_CLIENT}]"),
        (LISTED_CLIENT,
         f"554 5.7.1 Service unavailable; Client host [{LISTED_CLIENT}] blocked using {ZONE}; "
         + LISTING_REASON),
        (BROKEN_DNS_CLIENT, "451 4.3.0 Client host rejected: Temporary lookup failure"),
        (GOOD_CLIENT, "250 2.1.5 Ok"),
    ],
)
async def test_client_checks_with_aiosmtplib(lab: LabSmtp, source: str, expected: str) -> None:
    assert await rcpt_reply(lab, STRICT, "anyone@strict.test", source=source) == expected
    assert only(lab.sessions(STRICT.ip)).peer == source


@needs_swaks
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (NO_PTR_CLIENT, "450 4.7.25 Client host rejected: cannot find your hostname"),
        (UNCONFIRMED_CLIENT, "450 4.7.25 Client host rejected: cannot find your hostname"),
        (LISTED_CLIENT, f"554 5.7.1 Service unavailable; Client host [{LISTED_CLIENT}] blocked using"),
    ],
)
async def test_client_checks_with_swaks(lab: LabSmtp, source: str, expected: str) -> None:
    status, out = await swaks(lab, STRICT, "--to", "anyone@strict.test", "--from", "a@senders.test",
                              "--helo", "mail.good.senders.test", "--local-interface", source,
                              "--quit-after", "RCPT")
    assert status != 0
    assert expected in out


async def test_client_checks_run_before_helo_checks(lab: LabSmtp) -> None:
    reply = await rcpt_reply(lab, STRICT, "anyone@strict.test", source=NO_PTR_CLIENT, helo="localhost")
    assert reply.startswith("450 4.7.25")


# -- greeting, TLS, refused and black-holed hosts ---------------------------------------------


async def test_554_banner_then_503_until_quit(lab: LabSmtp) -> None:
    assert lab.port is not None
    smtp = client(lab, BANNER554)
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as caught:
        await smtp.connect()
    assert caught.value.code == 554
    reader, writer = await asyncio.open_connection(BANNER554.ip, lab.port)
    try:
        assert await reader.readline() == b"554 5.3.2 mx.closed.test ESMTP Service unavailable\r\n"
        for command in (b"EHLO mail.good.senders.test", b"MAIL FROM:<a@senders.test>", b"NONSENSE"):
            writer.write(command + b"\r\n")
            assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"503 5.5.1 ")
        writer.write(b"QUIT\r\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"221 2.0.0 Bye\r\n"
    finally:
        writer.close()
        await writer.wait_closed()


@needs_swaks
async def test_554_banner_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, BANNER554, "--to", "x@closed.test", "--helo", "mail.good.senders.test",
                              "--quit-after", "RCPT")
    assert status != 0
    assert "554 5.3.2 mx.closed.test ESMTP Service unavailable" in out


async def test_banner_name_can_differ(lab: LabSmtp) -> None:
    smtp = client(lab, MISMATCH)
    banner = await smtp.connect()
    assert banner.message == "mail.elsewhere.test ESMTP"
    assert (await smtp.ehlo()).message.splitlines()[0] == "mx.mismatch.test"
    await smtp.quit()


async def test_starttls_with_aiosmtplib(lab: LabSmtp) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    smtp = client(lab, HEALTHY)
    await smtp.connect()
    await smtp.ehlo()
    reply = await smtp.starttls(tls_context=context)
    assert (reply.code, reply.message) == (220, "2.0.0 Ready to start TLS")
    assert smtp.transport is not None
    ssl_object = smtp.transport.get_extra_info("ssl_object")
    certificate = x509.load_der_x509_certificate(ssl_object.getpeercert(binary_form=True))
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mx1.healthy.test"
    ehlo = await smtp.ehlo()
    assert "STARTTLS" not in ehlo.message
    assert (await smtp.execute_command(b"STARTTLS")).code == 554
    errors, _ = await smtp.sendmail("a@senders.test", ["alice@healthy.test"], b"Subject: tls\r\n\r\nx\r\n")
    assert errors == {}
    await smtp.quit()
    log = only(lab.sessions(HEALTHY.ip))
    assert log.tls
    assert log.commands.count("EHLO mail.good.senders.test") == 2


async def test_strict_client_refuses_the_self_signed_certificate(lab: LabSmtp) -> None:
    smtp = client(lab, HEALTHY)
    await smtp.connect()
    await smtp.ehlo()
    with pytest.raises((ssl.SSLError, aiosmtplib.SMTPException)):
        await smtp.starttls(tls_context=ssl.create_default_context())
    smtp.close()


@needs_swaks
async def test_starttls_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, HEALTHY, "--tls", "--to", "alice@healthy.test", "--from", "a@senders.test",
                              "--helo", "mail.good.senders.test")
    assert status == 0, out
    assert "220 2.0.0 Ready to start TLS" in out
    assert "TLS started" in out
    assert "250 2.0.0 Ok: queued as" in out
    assert only(lab.sessions(HEALTHY.ip)).tls


async def test_host_without_starttls(lab: LabSmtp) -> None:
    smtp = client(lab, NOTLS)
    await smtp.connect()
    await smtp.ehlo()
    assert not smtp.supports_extension("starttls")
    reply = await smtp.execute_command(b"STARTTLS")
    assert (reply.code, reply.message) == (502, "5.5.1 Error: command not implemented")
    await smtp.quit()


async def test_refuse_mode_refuses_connections(lab: LabSmtp) -> None:
    assert lab.port is not None
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(DOWN.ip, lab.port)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await client(lab, DOWN).connect()
    assert lab.sessions(DOWN.ip) == []


@needs_swaks
async def test_refuse_mode_with_swaks(lab: LabSmtp) -> None:
    status, out = await swaks(lab, DOWN, "--to", "x@backup.test", "--quit-after", "RCPT")
    assert status != 0
    assert "Connection refused" in out


async def test_blackhole_connect_times_out(start_lab: StartLab) -> None:
    lab = await start_lab([HEALTHY, BLACKHOLE])
    # The connect attempt must end with a timeout (never a refusal, never a hang). On loopback a
    # connection that can be made is made at once, so half a second is plenty to wait.
    with pytest.raises(aiosmtplib.SMTPConnectTimeoutError):
        await asyncio.wait_for(client(lab, BLACKHOLE, timeout=0.5).connect(), 30)
    assert lab.port is not None
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        await asyncio.wait_for(asyncio.open_connection(BLACKHOLE.ip, lab.port), 0.5)
    # The other hosts on the same port answer as usual.
    smtp = client(lab, HEALTHY)
    assert (await smtp.connect()).code == 220
    await smtp.quit()


@needs_swaks
async def test_blackhole_with_swaks(start_lab: StartLab) -> None:
    lab = await start_lab([BLACKHOLE])
    status, out = await swaks(lab, BLACKHOLE, "--to", "x@blackhole.test", "--quit-after", "CONNECT",
                              timeout=1)
    assert status != 0
    assert "timeout" in out.lower()
    assert "refused" not in out.lower()


# -- logs, AUTH, latency, ports, shutdown ----------------------------------------------------


async def test_session_log_records_command_lines_and_redacts_auth(lab: LabSmtp) -> None:
    smtp = client(lab, HEALTHY, source=GOOD_CLIENT, helo="first.senders.test")
    await smtp.connect()
    await smtp.ehlo()
    assert (await smtp.execute_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")).code == 503
    assert (await smtp.execute_command(b"HELO second.senders.test")).code == 250
    await smtp.execute_command(b"mail from:<a@senders.test>")
    await smtp.execute_command(b"RCPT TO:<carol@healthy.test>")
    await smtp.execute_command(b"RSET")
    assert (await smtp.execute_command(b"VRFY alice")).code == 502
    assert (await smtp.execute_command(b"HELP")).code == 502
    await smtp.quit()
    log = only(lab.sessions(HEALTHY.ip))
    assert log.peer == GOOD_CLIENT
    assert log.helo == "second.senders.test"
    assert log.commands == [
        "EHLO first.senders.test",
        "AUTH PLAIN [redacted]",
        "HELO second.senders.test",
        "mail from:<a@senders.test>",
        "RCPT TO:<carol@healthy.test>",
        "RSET",
        "VRFY alice",
        "HELP",
        "QUIT",
    ]
    assert "DATA" not in log.commands
    assert not lab.sessions(OPEN.ip)


@needs_swaks
async def test_session_log_of_a_swaks_probe_has_no_data(lab: LabSmtp) -> None:
    await swaks(lab, HEALTHY, "--to", "alice@healthy.test", "--from", "a@senders.test",
                "--helo", "probe.senders.test", "--quit-after", "RCPT")
    log = only(lab.sessions(HEALTHY.ip))
    assert log.helo == "probe.senders.test"
    assert log.commands == [
        "EHLO probe.senders.test", "MAIL FROM:<a@senders.test>", "RCPT TO:<alice@healthy.test>", "QUIT",
    ]


async def test_latency_delays_every_reply(start_lab: StartLab) -> None:
    lab = await start_lab([HEALTHY], latency_ms=300)
    smtp = client(lab, HEALTHY)
    started = time.monotonic()
    await smtp.connect()
    assert time.monotonic() - started >= 0.25
    for command in (b"NOOP", b"EHLO mail.good.senders.test"):
        started = time.monotonic()
        await smtp.execute_command(command)
        assert time.monotonic() - started >= 0.25, command
    await smtp.quit()


async def test_all_hosts_share_the_port_and_an_explicit_port_works(start_lab: StartLab) -> None:
    with socket.socket() as probe:
        probe.bind((HEALTHY.ip, 0))
        port = probe.getsockname()[1]
    lab = await start_lab([HEALTHY, OPEN, DOWN], port=port)
    assert lab.port == port
    for host in (HEALTHY, OPEN):
        smtp = client(lab, host)
        assert (await smtp.connect()).message.startswith(host.name)
        await smtp.quit()
    with pytest.raises(OSError):
        await start_lab([HEALTHY], port=port)


async def test_close_drops_connections_and_leaves_no_tasks(start_lab: StartLab) -> None:
    lab = await start_lab([HEALTHY, NOTLS])
    assert lab.port is not None
    reader, writer = await asyncio.open_connection(HEALTHY.ip, lab.port)
    await reader.readline()
    writer.write(b"EHLO mail.good.senders.test\r\n")
    smtp = client(lab, NOTLS)
    await smtp.connect()
    await lab.close()
    assert await asyncio.wait_for(reader.read(), 5) is not None  # EOF arrives, no hang
    writer.close()
    smtp.close()
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert not [task for task in pending if "handle_client" in repr(task.get_coro())]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(HEALTHY.ip, lab.port)
