"""The lab's SMTP hosts: small mail exchangers on loopback that answer like real ones.

The wizard learns to recognise real receivers' replies, so the lab hosts speak the way a Postfix
MX does and can be configured into the situations a postmaster meets: a healthy MX, unknown users,
relay denied (also what "domain missing from the accepted domains" and "backup MX that does not
accept the domain" look like from outside), an open relay, greylisting, HELO checks, reverse-DNS
and blocklist checks against the lab DNS, a 554 greeting, a host that is down (refused) or
black-holed (connect times out), STARTTLS with a self-signed certificate, and slow replies.

Each host listens on its own 127.x address; all share one port. Every host keeps a log of its
sessions (peer, HELO name, command lines) so tests and lessons can check what a client really sent.

The hosts are four modules, split by what each may do, so that each can be read and tested alone:

* :mod:`mxwizard.lab.smtp_policy` — what a host answers (pure: no sockets, no DNS, no clock);
* :mod:`mxwizard.lab.client_checks` — the reverse-DNS and blocklist lookups of strict hosts;
* :mod:`mxwizard.lab.smtp_session` — one connection, on aiosmtpd (the only module that touches
  aiosmtpd's private parts);
* this module — the set of hosts: binding their sockets, black holes, session logs, shutdown.

The names other modules import from here (``HostSpec``, ``SessionLog``...) stay importable here.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import socket
import ssl
import struct
from collections.abc import Sequence
from typing import Any

from mxwizard.lab.certificates import server_tls_context
from mxwizard.lab.client_checks import DNS_TIMEOUT, ClientChecks
from mxwizard.lab.smtp_policy import (
    BANNERS,
    IDLE_TIMEOUT,
    LOOPBACK,
    MESSAGE_SIZE_LIMIT,
    MODES,
    SESSIONS_KEPT,
    HostSpec,
    ReplyPolicy,
    SessionLog,
    destination_reply,
    helo_rejection,
)
from mxwizard.lab.smtp_session import HostHandler, LabSmtpSession

__all__ = [
    "BANNERS",
    "DNS_TIMEOUT",
    "IDLE_TIMEOUT",
    "LOOPBACK",
    "MESSAGE_SIZE_LIMIT",
    "MODES",
    "SESSIONS_KEPT",
    "ClientChecks",
    "HostSpec",
    "LabSmtp",
    "LabSmtpSession",
    "SessionLog",
    "destination_reply",
    "helo_rejection",
]


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
        self._policies = {host.ip: ReplyPolicy(host) for host in hosts}
        self._logs: dict[str, list[SessionLog]] = {host.ip: [] for host in hosts}
        self._tls: dict[str, ssl.SSLContext] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._blackhole_sockets: list[socket.socket] = []
        self._live: set[LabSmtpSession] = set()

    def tls_context(self, spec: HostSpec) -> ssl.SSLContext:
        """The server TLS context of a host (made once per process: its certificate is)."""
        if spec.name not in self._tls:
            self._tls[spec.name] = _shared_tls_context(spec.name)
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
            policy.forget()

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
        handler = HostHandler(self._policies[spec.ip])
        loop = asyncio.get_running_loop()
        return lambda: LabSmtpSession(handler, self, loop=loop)

    def _bind_all(self, port: int) -> tuple[int, list[tuple[HostSpec, socket.socket]]]:
        """Bind a listening socket for every host that needs one, all on `port` (0: the first one's)."""
        bound: list[tuple[HostSpec, socket.socket]] = []
        try:
            for spec in self.hosts.values():
                # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on
                # sockets that say so, and the connections accepted here inherit it. With
                # Nagle on, each line of a multi-line reply after the first waited for the
                # client's delayed ACK (some 40 ms): a delay no real server adds.
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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

        The listener has a backlog of 0; on Linux one queued connection fills it, and the kernel
        says so (`_accept_queue_full`), so no time is spent finding out. Elsewhere further fillers
        are tried (briefly) in case the kernel allows more, until one of them cannot connect.
        """
        loop = asyncio.get_running_loop()
        address = listener.getsockname()
        for attempt in range(8):
            if attempt and _accept_queue_full(listener):
                return
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


@functools.lru_cache(maxsize=256)
def _shared_tls_context(name: str) -> ssl.SSLContext:
    """The server context of host `name`, shared by every lab of the process. Loading it costs
    a temporary file and a parse; a context may serve any number of servers, and nothing changes
    it once made."""
    return server_tls_context(name)


_TCP_INFO_QUEUE = struct.Struct("=II")
"""In Linux's struct tcp_info, at byte 24: tcpi_unacked and tcpi_sacked, which for a listening
socket are the length of its accept queue and the backlog it was given."""


def _accept_queue_full(listener: socket.socket) -> bool:
    """Whether the kernel drops new SYNs to `listener` now (its accept queue is over the
    backlog); False where the kernel does not say (then the caller finds out by trying)."""
    if not hasattr(socket, "TCP_INFO"):
        return False
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return False
    if len(info) < 24 + _TCP_INFO_QUEUE.size:
        return False
    queued, backlog = _TCP_INFO_QUEUE.unpack_from(info, 24)
    return bool(queued > backlog)
