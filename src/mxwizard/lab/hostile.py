"""Hostile SMTP hosts for the lab: servers that break the protocol on purpose.

A diagnosis tool meets broken and malicious servers on the real internet: greetings that are not
SMTP, replies that never end, bytes dripped one at a time, two replies glued together, terminal
control sequences and Textual markup hidden in reply text. aiosmtpd is far too well-behaved to
send any of that, so these hosts are plain asyncio servers that speak just enough SMTP to reach the
point where they misbehave. Each host lives on its own 127.0.4.x address (same port as the other
lab hosts) and is the MX of its own ``hostile-*.test`` domain, so every behaviour can be checked
like a domain: ``mxwizard check receive hostile-drip.test --lab``.

Some hosts attack the bounds of a diagnosis rather than the protocol's rules (the bounds are
listed in :mod:`mxwizard.probes.smtp.session`): ``flood`` follows every reply with thousands of extra
lines; ``slow`` answers every command just inside a 2-second reply limit and ``trickle`` drips
every reply a byte at a time so that it just makes such a limit (``--timeout 2`` is what their
tests use: each reply is in time, only the whole conversation is not); ``many`` is forty MX
records of one host that says in its greeting how many sessions it has open at once.

Every behaviour is bounded in time and bytes (a lab must never keep a runaway task), and every
connection is logged like the other lab hosts' (:class:`SessionLog`), so tests can check from the
server's side what the probe sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from mxwizard.lab.smtp_hosts import SESSIONS_KEPT, SessionLog

#: How long a hostile host waits for a client's next command (or its departure) before hanging up.
IDLE_SECONDS = 30.0
#: The longest an endless behaviour keeps writing to one client.
ENDLESS_SECONDS = 60.0
#: Seconds between two bytes of the slow-drip greeting.
DRIP_SECONDS = 0.5
#: Extra lines the flooding host sends after every reply (each about 50 bytes).
FLOOD_LINES = 5000
#: How late the slow host answers each command (and greets): just inside a 2 s reply limit.
SLOW_SECONDS = 1.7
#: How long the trickling host takes to drip each reply, a byte at a time: just inside 2 s.
TRICKLE_SECONDS = 1.7
#: How many MX records the domain of the ``many`` host has (all of them that one host).
MANY_MX = 40
#: How long the ``many`` host waits before its greeting, so that sessions opened together overlap.
MANY_GREETING_SECONDS = 0.5
#: Terminal control sequences a hostile server hides in its text: clear the screen, set the window
#: title (OSC 2), write the clipboard (OSC 52, base64 of "owned"), and a right-to-left override.
TERMINAL_ATTACK = "\x1b[2J\x1b[H\x1b]2;pwned-title\x07\x1b]52;c;b3duZWQ=\x07\u202egnp.exe\x1b[0m"
#: Rich/Textual markup a hostile server hides in its text: styles, a theme variable, an action.
MARKUP_ATTACK = "[bold red]URGENT[/] [$accent]accent[/] [@click=app.quit]click to continue[/] [link=x]l[/]"


@dataclass(frozen=True)
class HostileHost:
    """One hostile mail host: the MX of ``domain``, at ``ip``, doing ``behaviour``."""

    behaviour: str
    ip: str
    summary: str
    #: How many MX records of its domain point at this host (one, except for the ``many`` host).
    mx_count: int = 1

    @property
    def domain(self) -> str:
        """The domain whose only MX host this is."""
        return f"hostile-{self.behaviour}.test"

    @property
    def name(self) -> str:
        """The host's name (its A and PTR records agree)."""
        return f"mx.{self.domain}"

    def zone_records(self) -> list[str]:
        """The records of :attr:`domain`'s zone: its MX records, and the host's A records.

        With several MX records, each has a name of its own (``mx01``, ``mx02``, ...; preferences
        10, 20, ...), all with the host's one address."""
        if self.mx_count == 1:
            return ["@ MX 10 mx", f"mx A {self.ip}"]
        names = [f"mx{n:02}" for n in range(1, self.mx_count + 1)]
        return [f"mx A {self.ip}"] + [f"@ MX {10 * n} {name}" for n, name in enumerate(names, 1)] \
            + [f"{name} A {self.ip}" for name in names]


#: Every hostile host, one behaviour each.
HOSTILE_HOSTS: tuple[HostileHost, ...] = (
    HostileHost("garbage", "127.0.4.1", "The greeting is binary garbage, not SMTP"),
    HostileHost("noeol", "127.0.4.2", "The greeting never ends its line, then silence"),
    HostileHost("longline", "127.0.4.3", "The greeting is a single 10 KB line"),
    HostileHost("endless", "127.0.4.4", "The EHLO reply is 250- continuation lines forever"),
    HostileHost("drip", "127.0.4.5", "The greeting arrives one byte every half second"),
    HostileHost("cut", "127.0.4.6", "The server hangs up in the middle of its EHLO reply"),
    HostileHost("outofstep", "127.0.4.7", "Two replies to EHLO in one packet (out of step)"),
    HostileHost("unsolicited", "127.0.4.8", "A line nobody asked for between two commands"),
    HostileHost("421", "127.0.4.9", "421 in the middle of the session, then the server hangs up"),
    HostileHost("tlssilence", "127.0.4.10", "STARTTLS answered 220, then silence instead of TLS"),
    HostileHost("tlsgarbage", "127.0.4.11", "STARTTLS answered 220, then garbage instead of TLS"),
    HostileHost("binary", "127.0.4.12", "Replies carry bytes that are not UTF-8"),
    HostileHost("markup", "127.0.4.13", "Replies carry Rich/Textual markup and a click action"),
    HostileHost("escapes", "127.0.4.14",
                "Replies carry terminal control sequences: clear screen, window title, clipboard, bidi"),
    HostileHost("bigehlo", "127.0.4.15", "The EHLO reply has 5,000 lines"),
    HostileHost("flood", "127.0.4.16", "Every reply is followed by 5,000 extra lines"),
    HostileHost("slow", "127.0.4.17", "Every reply comes 1.7 s late: each just inside a 2 s limit"),
    HostileHost("trickle", "127.0.4.18",
                "Every reply is dripped a byte at a time over 1.7 s: each just inside a 2 s limit"),
    HostileHost("many", "127.0.4.19",
                "Forty MX records for one host, which greets with how many sessions are open",
                mx_count=MANY_MX),
)


class _Peer:
    """One client connection as a hostile host sees it: send bytes, read logged command lines."""

    def __init__(self, host: HostileHost, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, log: SessionLog, open_sessions: int = 1) -> None:
        self.host = host
        self.reader = reader
        self.writer = writer
        self.log = log
        #: How many sessions this host had open (this one included) when this one began.
        self.open_sessions = open_sessions

    async def send(self, data: bytes | str) -> None:
        """Write ``data`` (text is sent as UTF-8, lone surrogates as the raw bytes they stand for)."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.writer.write(data)
        await self.writer.drain()

    async def command(self) -> str | None:
        """The client's next command line (logged), or None when it left or stayed silent too long."""
        try:
            raw = await asyncio.wait_for(self.reader.readline(), IDLE_SECONDS)
        except (asyncio.TimeoutError, ValueError, ConnectionError):
            return None
        if not raw:
            return None
        line = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
        verb, _, argument = line.partition(" ")
        if verb.upper() == "EHLO" or verb.upper() == "HELO":
            self.log.helo = argument
        if verb.upper() == "AUTH" and argument:
            mechanism, _, secret = argument.partition(" ")
            line = f"{verb} {mechanism}" + (" [redacted]" if secret else "")
        self.log.commands.append(line)
        return line

    async def hold(self) -> None:
        """Say nothing more; wait until the client leaves (or the idle limit)."""
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            while await asyncio.wait_for(self.reader.read(4096), IDLE_SECONDS):
                pass

    def ehlo_reply(self, *, starttls: bool = False, extra: Sequence[str] = ()) -> str:
        """An ordinary multi-line EHLO reply."""
        keywords = ["PIPELINING", "SIZE 10240000", *extra, *(["STARTTLS"] if starttls else []),
                    "8BITMIME"]
        lines = [self.host.name, *keywords]
        return "".join(f"250{'-' if i < len(lines) - 1 else ' '}{text}\r\n" for i, text in enumerate(lines))

    async def serve(self, *, starttls: bool = False,
                    answer: Callable[[str], str | bytes | None] | None = None,
                    send: Callable[[str | bytes], Awaitable[None]] | None = None) -> None:
        """Answer commands like an ordinary server until QUIT; ``answer`` may override any reply,
        ``send`` replaces how a reply goes out (late, dripped, with more after it)."""
        while (line := await self.command()) is not None:
            verb = line.split(" ", 1)[0].upper()
            reply: str | bytes | None = answer(line) if answer is not None else None
            if reply is None:
                reply = _ORDINARY.get(verb, "502 5.5.2 Error: command not recognized\r\n")
                if verb == "EHLO":
                    reply = self.ehlo_reply(starttls=starttls)
                elif verb == "HELO":
                    reply = f"250 {self.host.name}\r\n"
            await (send or self.send)(reply)
            if verb == "QUIT":
                return

    async def drip(self, data: str | bytes, seconds: float) -> None:
        """Send ``data`` a byte at a time, spread evenly over ``seconds`` (on a fixed schedule,
        so that the whole takes ``seconds`` however late each pause wakes up)."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        start, pace = loop.time(), seconds / max(1, len(data) - 1)
        for index in range(len(data)):
            await asyncio.sleep(max(0.0, start + index * pace - loop.time()))
            await self.send(data[index:index + 1])


_ORDINARY = {
    "MAIL": "250 2.1.0 Ok\r\n",
    "RCPT": "250 2.1.5 Ok\r\n",
    "RSET": "250 2.0.0 Ok\r\n",
    "NOOP": "250 2.0.0 Ok\r\n",
    "VRFY": "502 5.5.1 VRFY command is disabled\r\n",
    "DATA": "503 5.5.1 Error: need RCPT command\r\n",
    "AUTH": "503 5.5.1 Error: authentication not enabled\r\n",
    "STARTTLS": "454 4.7.0 TLS not available\r\n",
    "QUIT": "221 2.0.0 Bye\r\n",
}


def _banner(peer: _Peer, text: str = "ESMTP") -> str:
    return f"220 {peer.host.name} {text}\r\n"


# -- the behaviours ---------------------------------------------------------------------------


async def _garbage(peer: _Peer) -> None:
    await peer.send(b"\x00\xff\xfe\x16\x03\x01 \x1b[5m not smtp at all \x7f\x80\x9b\r\n")
    await peer.hold()


async def _noeol(peer: _Peer) -> None:
    await peer.send(f"220 {peer.host.name} ESMTP but this line never ends")
    await peer.hold()


async def _longline(peer: _Peer) -> None:
    await peer.send(f"220 {peer.host.name} " + "A" * 10240 + "\r\n")
    await peer.serve()


async def _endless(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    if await peer.command() is None:
        return
    loop = asyncio.get_running_loop()
    stop = loop.time() + ENDLESS_SECONDS
    await peer.send(f"250-{peer.host.name}\r\n")
    number = 0
    with contextlib.suppress(ConnectionError):
        while loop.time() < stop and not peer.writer.is_closing():
            number += 1
            await peer.send("".join(f"250-EXTENSION-{number}-{i}\r\n" for i in range(50)))
            await asyncio.sleep(0.001)


async def _drip(peer: _Peer) -> None:
    with contextlib.suppress(ConnectionError):
        for byte in _banner(peer, "ESMTP welcome, please wait while we type slowly").encode():
            await peer.send(bytes([byte]))
            await asyncio.sleep(DRIP_SECONDS)
    await peer.serve()


async def _cut(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    if await peer.command() is None:
        return
    await peer.send(f"250-{peer.host.name}\r\n250-PIPELINING\r\n250-SIZ")


async def _outofstep(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    await peer.serve(answer=lambda line: (
        f"250 {peer.host.name}\r\n250 2.0.0 and a second reply nobody asked for\r\n"
        if line.upper().startswith("EHLO") else None))


async def _unsolicited(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    if await peer.command() is None:
        return
    await peer.send(peer.ehlo_reply())
    await asyncio.sleep(0.05)
    await peer.send("250 2.0.0 a line nobody asked for\r\n")
    await peer.serve()


async def _421(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    while (line := await peer.command()) is not None:
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            await peer.send(peer.ehlo_reply())
        else:
            await peer.send(f"421 4.3.2 {peer.host.name} Service shutting down, closing connection\r\n")
            return


async def _starttls(peer: _Peer, after_ready: bytes | None) -> None:
    await peer.send(_banner(peer))

    async def answer_all() -> None:
        while (line := await peer.command()) is not None:
            verb = line.split(" ", 1)[0].upper()
            if verb == "STARTTLS":
                await peer.send("220 2.0.0 Ready to start TLS\r\n")
                if after_ready is not None:
                    await peer.send(after_ready)
                await peer.hold()
                return
            reply = peer.ehlo_reply(starttls=True) if verb == "EHLO" else \
                _ORDINARY.get(verb, "502 5.5.2 Error: command not recognized\r\n")
            await peer.send(reply)
            if verb == "QUIT":
                return

    await answer_all()


async def _tlssilence(peer: _Peer) -> None:
    await _starttls(peer, None)


async def _tlsgarbage(peer: _Peer) -> None:
    await _starttls(peer, b"this is not a TLS handshake \x00\xff\x1b[2J\r\n" * 4)


async def _binary(peer: _Peer) -> None:
    await peer.send(b"220 " + peer.host.name.encode() + b" ESMTP \xff\xfe\xc3\x28 caf\xe9 \xed\xa0\x80\r\n")
    await peer.serve(answer=lambda line: (
        b"550 5.1.1 <\xff\xfe> Recipient address rejected: caf\xe9 \xc3\x28\r\n"
        if line.upper().startswith("RCPT") else None))


async def _markup(peer: _Peer) -> None:
    await peer.send(f"220 {peer.host.name} ESMTP {MARKUP_ATTACK}\r\n")
    await peer.serve(answer=lambda line: (
        f"250-{peer.host.name} {MARKUP_ATTACK}\r\n250-[bold]PIPELINING[/bold]\r\n250 8BITMIME\r\n"
        if line.upper().startswith("EHLO") else
        f"550 5.1.1 {MARKUP_ATTACK} User unknown\r\n" if line.upper().startswith("RCPT") else None))


async def _escapes(peer: _Peer) -> None:
    await peer.send(f"220 {peer.host.name} ESMTP {TERMINAL_ATTACK}\r\n")
    await peer.serve(answer=lambda line: (
        f"250-{peer.host.name} {TERMINAL_ATTACK}\r\n250-\x1b]2;ehlo-title\x07PIPELINING\r\n250 8BITMIME\r\n"
        if line.upper().startswith("EHLO") else
        f"550 5.1.1 {TERMINAL_ATTACK} User unknown\r\n" if line.upper().startswith("RCPT") else None))


async def _bigehlo(peer: _Peer) -> None:
    await peer.send(_banner(peer))
    await peer.serve(answer=lambda line: (
        peer.ehlo_reply(extra=[f"X-FEATURE-{i}" for i in range(4994)])
        if line.upper().startswith("EHLO") else None))


def _own_domain_only(peer: _Peer) -> Callable[[str], str | None]:
    """RCPT answers of a server that takes mail for its own domain and relays for nobody."""
    def answer(line: str) -> str | None:
        if not line.upper().startswith("RCPT"):
            return None
        if f"@{peer.host.domain}>" in line.lower():
            return None
        return "554 5.7.1 Relay access denied\r\n"
    return answer


_FLOOD = "".join(f"250 2.0.0 extra line {n} of {FLOOD_LINES} nobody asked for\r\n"
                 for n in range(1, FLOOD_LINES + 1))


async def _flood(peer: _Peer) -> None:
    async def with_flood(reply: str | bytes) -> None:
        await peer.send(reply)
        await peer.send(_FLOOD)

    await with_flood(_banner(peer))
    await peer.serve(send=with_flood)


async def _slow(peer: _Peer) -> None:
    async def late(reply: str | bytes) -> None:
        await asyncio.sleep(SLOW_SECONDS)
        await peer.send(reply)

    await late(_banner(peer))
    await peer.serve(starttls=True, answer=_own_domain_only(peer), send=late)


async def _trickle(peer: _Peer) -> None:
    async def dripped(reply: str | bytes) -> None:
        await peer.drip(reply, TRICKLE_SECONDS)

    await dripped(_banner(peer))
    await peer.serve(starttls=True, answer=_own_domain_only(peer), send=dripped)


async def _many(peer: _Peer) -> None:
    await asyncio.sleep(MANY_GREETING_SECONDS)
    await peer.send(_banner(peer, f"ESMTP {peer.open_sessions} sessions open at once"))
    # Mail for the domain's postmaster is taken; other mailboxes are deferred, so that a sender
    # goes on to the next MX host (and shows how many it tries).
    await peer.serve(answer=lambda line: (
        "451 4.3.0 Mailbox busy, try another MX\r\n"
        if line.upper().startswith("RCPT") and "postmaster@" not in line.lower() else None))


BEHAVIOURS: dict[str, Callable[[_Peer], Awaitable[None]]] = {
    "garbage": _garbage, "noeol": _noeol, "longline": _longline, "endless": _endless,
    "drip": _drip, "cut": _cut, "outofstep": _outofstep, "unsolicited": _unsolicited,
    "421": _421, "tlssilence": _tlssilence, "tlsgarbage": _tlsgarbage, "binary": _binary,
    "markup": _markup, "escapes": _escapes, "bigehlo": _bigehlo, "flood": _flood, "slow": _slow,
    "trickle": _trickle, "many": _many,
}


# -- the servers ------------------------------------------------------------------------------


class HostileSmtp:
    """Every hostile host, listening on one port number (the lab's SMTP port), each on its own IP."""

    def __init__(self, hosts: Sequence[HostileHost] = HOSTILE_HOSTS) -> None:
        unknown = [h.behaviour for h in hosts if h.behaviour not in BEHAVIOURS]
        if unknown:
            raise ValueError(f"no such hostile behaviour: {', '.join(unknown)}")
        self.hosts = {host.ip: host for host in hosts}
        self._logs: dict[str, list[SessionLog]] = {host.ip: [] for host in hosts}
        self._open: dict[str, int] = {host.ip: 0 for host in hosts}
        #: The most sessions each host had open at the same time.
        self.peak_sessions: dict[str, int] = {host.ip: 0 for host in hosts}
        self._servers: list[asyncio.AbstractServer] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def sessions(self, ip: str) -> list[SessionLog]:
        """The sessions the hostile host on ``ip`` saw (the last SESSIONS_KEPT), oldest first."""
        return list(self._logs[ip])

    async def start(self, port: int) -> None:
        """Listen on (host.ip, port) for every host."""
        try:
            for host in self.hosts.values():
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host.ip, port))
                except OSError:
                    sock.close()
                    raise
                server = await asyncio.start_server(self._client(host), sock=sock)
                self._servers.append(server)
        except BaseException:
            await self.close()
            raise

    def _client(self, host: HostileHost) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                                     Awaitable[None]]:
        behaviour = BEHAVIOURS[host.behaviour]

        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            peer_address = writer.get_extra_info("peername")
            log = SessionLog(peer_address[0] if peer_address else "")
            logs = self._logs[host.ip]
            logs.append(log)
            del logs[:-SESSIONS_KEPT]
            self._open[host.ip] += 1
            self.peak_sessions[host.ip] = max(self.peak_sessions[host.ip], self._open[host.ip])
            try:
                await behaviour(_Peer(host, reader, writer, log, self._open[host.ip]))
            except (ConnectionError, asyncio.TimeoutError):
                pass  # the client left in the middle of the act: that is its right
            except asyncio.CancelledError:
                pass  # the lab is closing (a late answer was still waiting): end quietly
            finally:
                self._open[host.ip] -= 1
                writer.close()
                if task is not None:
                    self._tasks.discard(task)

        return connected

    async def close(self) -> None:
        """Stop listening and end every connection still in progress."""
        for server in self._servers:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        self._servers.clear()
