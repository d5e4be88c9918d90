"""The lab's SMTP hosts: small mail exchangers on loopback that answer like real ones.

The wizard learns to recognise real receivers' replies, so the lab hosts speak the way a Postfix
MX does (its reply texts wherever Postfix has one) and can be configured into the situations a
postmaster meets: a healthy MX, unknown users, relay denied (also what "domain missing from the
accepted domains" and "backup MX that does not accept the domain" look like from outside), an open
relay, greylisting, HELO checks, reverse-DNS and blocklist checks against the lab DNS, a 554
greeting, a host that is down (refused) or black-holed (connect times out), STARTTLS with a
self-signed certificate, and slow replies.

Each host listens on its own 127.x address; all share one port. Every host keeps a log of its
sessions (peer, HELO name, command lines) so tests and lessons can check what a client really sent.

Order of checks at RCPT, as Postfix's `smtpd_recipient_restrictions` would apply them: client
checks (reverse DNS, forward confirmation, blocklist), HELO checks, greylisting, then the
relay/recipient decision. HELO checks are applied at RCPT time, not at HELO: that is Postfix's
default (`smtpd_delay_reject = yes`), so HELO/EHLO itself is always answered 250.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import re
import secrets
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
import dns.reversename
from aiosmtpd.smtp import SMTP, Envelope, Session

from mxwizard.core.untrusted import visible
from mxwizard.lab.certificates import server_tls_context

log = logging.getLogger(__name__)

MODES = ("listen", "refuse", "blackhole")
BANNERS = ("ok", "reject")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MESSAGE_SIZE_LIMIT = 10_240_000
"""Postfix's default `message_size_limit`, announced in the EHLO reply."""
DNS_TIMEOUT = 2.0
"""Seconds a client check waits for the lab DNS before answering 451 4.3.0."""
SESSIONS_KEPT = 1000
"""How many session logs each host keeps (the oldest go first), so `lab serve` cannot grow forever."""
IDLE_TIMEOUT = 300.0
"""Postfix's `smtpd_timeout`: an idle session is dropped after this many seconds."""


@dataclass(frozen=True)
class HostSpec:
    """How one lab SMTP host behaves: its name and address, what it accepts, which checks it runs."""

    name: str
    """Its FQDN, said in the banner and the EHLO reply."""
    ip: str
    """The 127.x address it listens on."""
    domains: tuple[str, ...] = ()
    """Domains it is the final destination for."""
    users: tuple[str, ...] | None = None
    """Known local parts; None: every local part exists. "postmaster" always exists."""
    mode: str = "listen"
    """"listen"; "refuse" (nothing bound: connection refused); "blackhole" (connect() times out)."""
    open_relay: bool = False
    """Accepts any recipient for any domain from anyone."""
    starttls: bool = True
    """Offers STARTTLS with a self-signed certificate for `name`."""
    greylist_seconds: float | None = None
    """450 4.7.1 at RCPT for a new (client IP, sender, recipient) triplet until this much time passed."""
    helo_checks: bool = False
    """Postfix's reject_invalid_helo_hostname and reject_non_fqdn_helo_hostname (at RCPT)."""
    client_checks: bool = False
    """Postfix's reject_unknown_client_hostname and reject_rbl_client against the lab DNS."""
    banner: str = "ok"
    """"ok" or "reject" (554 5.3.2 greeting, then 503 to everything but QUIT)."""
    banner_name: str | None = None
    """The name said in the banner if it differs from `name`."""
    accept_data: bool = True
    """DATA is accepted (250 queued) and the message discarded; False: 550 5.7.1 after the data."""

    def __post_init__(self) -> None:
        if ipaddress.ip_address(self.ip) not in LOOPBACK:
            raise ValueError(f"lab host {self.name} must listen on 127.0.0.0/8, not {self.ip}")
        if self.mode not in MODES:
            raise ValueError(f"lab host {self.name}: mode must be one of {MODES}, not {self.mode!r}")
        if self.banner not in BANNERS:
            raise ValueError(f"lab host {self.name}: banner must be one of {BANNERS}")

    @property
    def greeting_name(self) -> str:
        """The host name said in the 220 (or 554) greeting."""
        return self.banner_name or self.name


@dataclass
class SessionLog:
    """What one host saw in one connection: who connected, the HELO name, every command line."""

    peer: str
    """The client's IP address."""
    helo: str | None = None
    """The last HELO/EHLO name given (None if the client never said one)."""
    commands: list[str] = field(default_factory=list)
    """Command lines as received, without CRLF; AUTH arguments redacted; message data excluded."""
    tls: bool = False
    """True once STARTTLS was negotiated."""


# -- pure checks ------------------------------------------------------------------------------

_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_hostname(name: str) -> bool:
    """Postfix's valid_hostname(): letters, digits, '-' and '_', sane labels, not all numeric."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 255:
        return False
    labels = name.split(".")
    return all(_LABEL.match(label) for label in labels) and not all(label.isdigit() for label in labels)


def helo_rejection(helo: str | None) -> str | None:
    """The reply Postfix's HELO restrictions give to `helo`, or None if it passes."""
    if helo is None:
        return None
    if helo.startswith("[") and helo.endswith("]"):
        inner = helo[1:-1]
        inner = inner[5:] if inner.lower().startswith("ipv6:") else inner
        return None if _is_address(inner) else f"501 5.5.2 <{helo}>: Helo command rejected: Invalid name"
    if not _valid_hostname(helo) and not _is_address(helo):
        return f"501 5.5.2 <{helo}>: Helo command rejected: Invalid name"
    if not _valid_hostname(helo) or "." not in helo.rstrip("."):
        return f"504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname"
    return None


def _has_sender_routing(local_part: str) -> bool:
    """True for user%elsewhere, elsewhere!user and "user@elsewhere" local parts."""
    return any(mark in local_part.strip('"') for mark in "@%!")


def destination_reply(spec: HostSpec, address: str) -> str:
    """The relay/recipient decision for `address`, as Postfix's reject_unauth_destination would do it."""
    if spec.open_relay:
        return "250 2.1.5 Ok"
    local, at, domain = address.rpartition("@")
    if not at:
        if address.lower() == "postmaster":
            return "250 2.1.5 Ok"
        return f"504 5.5.2 <{address}>: Recipient address rejected: need fully-qualified address"
    domain = domain.lower().rstrip(".")
    if domain not in {d.lower().rstrip(".") for d in spec.domains} or _has_sender_routing(local):
        return f"554 5.7.1 <{address}>: Relay access denied"
    known = None if spec.users is None else {user.lower() for user in spec.users} | {"postmaster"}
    if known is None or local.lower() in known:
        return "250 2.1.5 Ok"
    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


# -- client checks against the lab DNS --------------------------------------------------------


class ClientChecks:
    """Reverse DNS, forward confirmation and blocklist lookup of a client IP, Postfix style."""

    def __init__(self, resolver: tuple[str, int], dnsbl_zone: str) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [dns.nameserver.Do53Nameserver(resolver[0], resolver[1])]
        self._resolver.cache = None
        self._resolver.timeout = DNS_TIMEOUT
        self._resolver.lifetime = DNS_TIMEOUT
        self.dnsbl_zone = dnsbl_zone.rstrip(".")

    async def _lookup(self, name: str | dns.name.Name, rdtype: str) -> list[str] | None:
        """Answers as text; None for NXDOMAIN/NODATA; other failures raise DNSException."""
        try:
            answer = await self._resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return [rdata.to_text() for rdata in answer]

    async def rejection(self, ip: str) -> str | None:
        """The reply for a client connecting from `ip`, or None if it passes every check."""
        unknown = f"450 4.7.25 Client host rejected: cannot find your hostname, [{ip}]"
        try:
            names = await self._lookup(dns.reversename.from_address(ip), "PTR")
            if not names:
                return unknown
            addresses = await self._lookup(names[0], "A")
            if not addresses or ip not in addresses:
                return unknown
        except dns.exception.DNSException:
            return "451 4.3.0 Client host rejected: Temporary lookup failure"
        return await self._blocklist_rejection(ip)

    async def _blocklist_rejection(self, ip: str) -> str | None:
        # Like Postfix, a blocklist that cannot be reached counts as "not listed".
        query = ".".join(reversed(ip.split("."))) + "." + self.dnsbl_zone + "."
        try:
            if not await self._lookup(query, "A"):
                return None
        except dns.exception.DNSException:
            return None
        reason = ""
        with contextlib.suppress(dns.exception.DNSException):
            answer = await self._resolver.resolve(query, "TXT", search=False)
            text = b"".join(answer[0].strings).decode("utf-8", "replace")
            reason = "; " + visible(text, limit=200)
        return f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using {self.dnsbl_zone}{reason}"


# -- the SMTP conversation --------------------------------------------------------------------

_POSTFIX_TEXTS = {
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO/EHLO first",
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "454 TLS not available": "502 5.5.1 Error: command not implemented",
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed limit"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Error: message file too big",
}
"""aiosmtpd's own reply texts, reworded the way Postfix says the same thing."""


def _postfix_wording(reply: str) -> str:
    if reply in _POSTFIX_TEXTS:
        return _POSTFIX_TEXTS[reply]
    if reply.startswith("501 Syntax:"):
        return "501 5.5.4 Syntax:" + reply[len("501 Syntax:") :]
    if reply.startswith('500 Error: command "'):
        return "502 5.5.2 Error: command not recognized"
    return reply


class HostPolicy:
    """The aiosmtpd handler of one host: what it answers to HELO, MAIL, RCPT and DATA."""

    def __init__(self, spec: HostSpec, checks: ClientChecks) -> None:
        self.spec = spec
        self.checks = checks
        self.greylist: dict[tuple[str, str, str], float] = {}
        """First time each (client IP, sender, recipient) triplet was seen (monotonic clock)."""

    async def handle_HELO(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        session.host_name = hostname
        server.log.helo = hostname
        return f"250 {self.spec.name}"

    async def handle_EHLO(
        self,
        server: LabSmtpSession,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        server.log.helo = hostname
        lines = [self.spec.name, "PIPELINING", f"SIZE {MESSAGE_SIZE_LIMIT}"]
        if self.spec.starttls and session.ssl is None:
            lines.append("STARTTLS")
        lines += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def handle_MAIL(
        self,
        server: LabSmtpSession,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        server.rejected_recipients = 0
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: LabSmtpSession,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = await self._recipient_reply(server, session, envelope, address)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        else:
            server.rejected_recipients += 1
        return reply

    async def _recipient_reply(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, address: str
    ) -> str:
        if self.spec.client_checks:
            rejection = await server.client_rejection()
            if rejection:
                return rejection
        if self.spec.helo_checks:
            rejection = helo_rejection(session.host_name)
            if rejection:
                return rejection
        if self.spec.greylist_seconds is not None:
            triplet = (server.log.peer, (envelope.mail_from or "").lower(), address.lower())
            now = time.monotonic()
            first_seen = self.greylist.setdefault(triplet, now)
            if now - first_seen < self.spec.greylist_seconds:
                return f"450 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"
        return destination_reply(self.spec, address)

    async def handle_DATA(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        envelope.content = envelope.original_content = None  # the lab delivers nothing anywhere
        if not self.spec.accept_data:
            return "550 5.7.1 Message content rejected"
        return f"250 2.0.0 Ok: queued as {secrets.token_hex(5).upper()}"

    async def handle_RSET(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 Ok"

    async def handle_NOOP(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, arg: str
    ) -> str:
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        return "221 2.0.0 Bye"

    async def handle_exception(self, error: Exception) -> str:
        log.debug("lab SMTP host %s: %r", self.spec.name, error)
        return "451 4.3.0 Error: local lab failure"


class _OnlyQuit(dict[str, Any]):
    """Command table of a host that greeted with 554: QUIT works, everything else gets 503."""

    def __init__(self, quit_command: Any, refuse: Any) -> None:
        super().__init__(QUIT=quit_command)
        self.refuse = refuse

    def get(self, command: str, default: Any = None) -> Any:
        return self["QUIT"] if command == "QUIT" else self.refuse


class LabSmtpSession(SMTP):
    """One connection to a lab host: aiosmtpd's SMTP with Postfix wording, latency and a session log.

    aiosmtpd builds the greeting, reads command lines and words a few replies in private code, so
    this subclass hooks in at three narrow places: `push` (every reply goes through it: greeting
    rewrite, Postfix wording, latency), `_cb_client_connected` (wraps the reader's `readuntil`,
    which aiosmtpd uses for command lines, to record them), and the command table (554 hosts).
    """

    def __init__(self, policy: HostPolicy, lab: LabSmtp, **kwargs: Any) -> None:
        spec = policy.spec
        tls = lab.tls_context(spec) if spec.starttls else None
        super().__init__(
            policy,
            hostname=spec.greeting_name,
            ident="ESMTP",
            tls_context=tls,
            enable_SMTPUTF8=True,
            data_size_limit=MESSAGE_SIZE_LIMIT,
            timeout=IDLE_TIMEOUT,
            **kwargs,
        )
        self.spec = spec
        self.lab = lab
        self.log = SessionLog(peer="")
        self.rejected_recipients = 0
        self._greeted = False
        self._in_reply = False
        self._reading_message = False
        self._client_checked = False
        self._client_verdict: str | None = None
        self._raw_transport: asyncio.BaseTransport | None = None
        if spec.banner == "reject":
            self._smtp_methods = _OnlyQuit(self._smtp_methods["QUIT"], self._refuse_command)

    # connection bookkeeping

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._raw_transport is None
        if first:
            self._raw_transport = transport
        super().connection_made(transport)
        if first:
            assert self.session is not None
            peer = self.session.peer
            self.log.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer)
            self.lab.session_started(self)
        else:
            self.log.tls = True

    def connection_lost(self, error: Exception | None) -> None:
        self.lab.session_ended(self)
        super().connection_lost(error)

    def abort(self) -> None:
        """Drop the connection at once (the lab is closing)."""
        if isinstance(self._raw_transport, asyncio.WriteTransport):
            self._raw_transport.abort()
        elif self._raw_transport is not None:
            self._raw_transport.close()
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()

    @property
    def handler_task(self) -> asyncio.Task[None] | None:
        """The task running this conversation (for a clean shutdown)."""
        return self._handler_coroutine

    def _cb_client_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super()._cb_client_connected(reader, writer)
        read_line = reader.readuntil

        async def recording_readuntil(separator: bytes = b"\n") -> bytes:
            line = await read_line(separator)
            if not self._reading_message:
                self._record(line)
            return line

        reader.readuntil = recording_readuntil  # type: ignore[method-assign,assignment]

    def _record(self, raw: bytes) -> None:
        line = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
        verb, _, argument = line.partition(" ")
        if verb.upper() == "AUTH" and argument:
            mechanism, _, secret = argument.partition(" ")
            line = f"{verb} {mechanism}" + (" [redacted]" if secret else "")
        self.log.commands.append(line)

    # replies

    async def push(self, status: str | bytes) -> None:
        reply = status.decode("utf-8", "surrogateescape") if isinstance(status, bytes) else status
        if not self._greeted:
            self._greeted = True
            if self.spec.banner == "reject":
                reply = f"554 5.3.2 {self.spec.greeting_name} ESMTP Service unavailable"
        reply = _postfix_wording(reply)
        if self.lab.latency and not self._in_reply:
            await asyncio.sleep(self.lab.latency)
        self._in_reply = reply[3:4] == "-"
        await super().push(reply.encode("utf-8", "surrogateescape"))

    async def _refuse_command(self, arg: str | None) -> None:
        await self.push("503 5.5.1 Error: service unavailable, only QUIT is accepted here")

    async def client_rejection(self) -> str | None:
        """The client checks' verdict on this connection's peer (looked up once per connection)."""
        if not self._client_checked:
            self._client_verdict = await self.lab.checks.rejection(self.log.peer)
            self._client_checked = True
        return self._client_verdict

    # commands that differ from aiosmtpd's defaults

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        address, rest = super()._getaddr(arg)
        if address is None and self.spec.open_relay:
            # An open relay swallows even <user@elsewhere@here>, which the parser refuses.
            match = re.match(r"^\s*<([^<>]*)>(.*)$", arg)
            if match:
                return match.group(1), match.group(2)
        return address, rest

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.session is not None and self.session.ssl is not None:
            await self.push("554 5.5.1 Error: TLS already active")
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        assert self.envelope is not None
        if self.envelope.mail_from and not self.envelope.rcpt_tos and self.rejected_recipients:
            await self.push("554 5.5.1 Error: no valid recipients")
            return
        self._reading_message = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._reading_message = False

    async def smtp_AUTH(self, arg: str) -> None:
        await self.push("503 5.5.1 Error: authentication not enabled")

    async def smtp_VRFY(self, arg: str) -> None:
        await self.push("502 5.5.1 VRFY command is disabled")

    async def smtp_EXPN(self, arg: str) -> None:
        await self.push("502 5.5.2 Error: command not recognized")

    async def smtp_HELP(self, arg: str) -> None:
        await self.push("502 5.5.2 Error: command not recognized")


# -- the set of hosts -------------------------------------------------------------------------


class LabSmtp:
    """Every SMTP host of the lab, started together on one port number, each on its own 127.x IP."""

    def __init__(
        self,
        hosts: Sequence[HostSpec],
        *,
        resolver: tuple[str, int],
        dnsbl_zone: str = "dnsbl.lab.test",
        latency_ms: float = 0,
    ) -> None:
        ips = [host.ip for host in hosts]
        if len(set(ips)) != len(ips):
            raise ValueError("every lab SMTP host needs its own IP address")
        self.hosts = {host.ip: host for host in hosts}
        self.checks = ClientChecks(resolver, dnsbl_zone)
        self.latency = latency_ms / 1000
        self.port: int | None = None
        self._policies = {host.ip: HostPolicy(host, self.checks) for host in hosts}
        self._logs: dict[str, list[SessionLog]] = {host.ip: [] for host in hosts}
        self._tls: dict[str, ssl.SSLContext] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._blackhole_sockets: list[socket.socket] = []
        self._live: set[LabSmtpSession] = set()

    def tls_context(self, spec: HostSpec) -> ssl.SSLContext:
        """The server TLS context of a host (made once, with its self-signed certificate)."""
        if spec.name not in self._tls:
            self._tls[spec.name] = server_tls_context(spec.name)
        return self._tls[spec.name]

    def session_started(self, session: LabSmtpSession) -> None:
        """Called by a new connection: remember it for `sessions()` and for `close()`."""
        self._live.add(session)
        logs = self._logs[session.spec.ip]
        logs.append(session.log)
        del logs[:-SESSIONS_KEPT]

    def session_ended(self, session: LabSmtpSession) -> None:
        """Called when a connection is gone."""
        self._live.discard(session)

    def sessions(self, ip: str) -> list[SessionLog]:
        """The sessions the host on `ip` saw (the last SESSIONS_KEPT), oldest first."""
        return list(self._logs[ip])

    def forget(self) -> None:
        """Forget what the hosts remember between connections (the greylists' triplets), so a
        lesson shows its behaviour every time it is run, not only the first time."""
        for policy in self._policies.values():
            policy.greylist.clear()

    async def start(self, port: int = 0) -> int:
        """Start every host on (host.ip, port); port 0: find one port free on all their IPs."""
        if self._servers or self._blackhole_sockets:
            raise RuntimeError("the lab SMTP hosts are already running")
        for spec in self.hosts.values():
            if spec.starttls and spec.mode == "listen":
                self.tls_context(spec)
        port, sockets = self._bind_all(port) if port else self._bind_on_a_free_port()
        loop = asyncio.get_running_loop()
        try:
            for spec, sock in sockets:
                if spec.mode == "blackhole":
                    self._blackhole_sockets.append(sock)
                else:
                    server = await loop.create_server(self._protocol_factory(spec), sock=sock)
                    self._servers.append(server)
            await asyncio.gather(
                *(self._fill_backlog(sock) for spec, sock in sockets if spec.mode == "blackhole")
            )
        except BaseException:
            await self.close()
            raise
        self.port = port
        return port

    def _protocol_factory(self, spec: HostSpec) -> Any:
        policy = self._policies[spec.ip]
        loop = asyncio.get_running_loop()
        return lambda: LabSmtpSession(policy, self, loop=loop)

    def _bind_all(self, port: int) -> tuple[int, list[tuple[HostSpec, socket.socket]]]:
        """Bind a listening socket for every host that needs one, all on `port` (0: the first one's)."""
        bound: list[tuple[HostSpec, socket.socket]] = []
        try:
            for spec in self.hosts.values():
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((spec.ip, port))
                    port = sock.getsockname()[1]
                except OSError:
                    sock.close()
                    raise
                if spec.mode == "refuse":
                    sock.close()  # the port was free there; nothing stays bound, so connects are refused
                    continue
                sock.listen(0 if spec.mode == "blackhole" else 100)
                sock.setblocking(False)
                bound.append((spec, sock))
        except OSError:
            for _, sock in bound:
                sock.close()
            raise
        if not port:  # no hosts at all: any free port will do
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        return port, bound

    def _bind_on_a_free_port(self) -> tuple[int, list[tuple[HostSpec, socket.socket]]]:
        last_error: OSError | None = None
        for _ in range(50):
            try:
                return self._bind_all(0)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                last_error = error
        raise OSError(errno.EADDRINUSE, f"no port free on every lab SMTP address: {last_error}")

    async def _fill_backlog(self, listener: socket.socket) -> None:
        """Queue connections nobody accepts until the kernel drops new SYNs (connect() then hangs).

        The listener has a backlog of 0; on Linux one queued connection fills it. Further fillers are
        tried (briefly) in case the kernel allows more, until one of them cannot connect.
        """
        loop = asyncio.get_running_loop()
        address = listener.getsockname()
        for attempt in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(filler, address), 2.0 if attempt == 0 else 0.1)
            except (asyncio.TimeoutError, OSError):
                filler.close()
                if attempt == 0:
                    raise RuntimeError(f"could not set up the black hole on {address[0]}") from None
                return
            self._blackhole_sockets.append(filler)

    async def close(self) -> None:
        """Stop listening, drop every connection and wait until every session task has ended."""
        for server in self._servers:
            server.close()
        for sock in self._blackhole_sockets:
            sock.close()
        self._blackhole_sockets.clear()
        tasks = []
        for session in list(self._live):
            session.abort()
            if session.handler_task is not None:
                tasks.append(session.handler_task)
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._live.clear()
