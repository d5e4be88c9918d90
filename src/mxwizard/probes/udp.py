"""Many DNS questions to one server over one UDP socket, the way a stub resolver multiplexes them.

A blocklist sweep asks about a hundred questions at once. Opening a socket for each question (what
dnspython's query functions do) costs more time than the answers take to arrive on a fast network, and
that cost is paid one question after another on the event loop. So the questions in flight to one
server share a socket: the first opens it, the last closes it. Answers are matched to their question
by message ID *and* question section; anything else that arrives (a late answer to a question that
has given up, a forged or garbled datagram) is dropped, never taken for another question's answer.
A truncated answer is returned as it is; the caller retries over TCP.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.message


@dataclass
class _Socket(asyncio.DatagramProtocol):
    """One connected UDP socket and the questions waiting on it, by message ID."""

    transport: asyncio.DatagramTransport | None = None
    waiting: dict[int, tuple[dns.message.Message, asyncio.Future[dns.message.Message]]] = field(
        default_factory=dict)
    #: The questions using this socket, counted from before it is open, so the last one closes it.
    users: int = 0
    opening: asyncio.Future[tuple[asyncio.DatagramTransport, _Socket]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < 12:
            return
        entry = self.waiting.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return
        request, answer = entry
        try:
            response = dns.message.from_wire(data, ignore_trailing=True)
        except (dns.exception.DNSException, ValueError, IndexError, UnicodeError):
            return  # garbage with a matching ID: keep waiting for the real answer
        if not answer.done() and request.is_response(response):
            answer.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket this is the ICMP "port unreachable" of a server that is not there.
        self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the UDP socket closed"))

    def close(self) -> None:
        """Close the socket now, or as soon as it has opened."""
        if self.transport is not None:
            self.transport.close()
        elif self.opening is not None:
            self.opening.add_done_callback(self._close_opened)

    def _close_opened(self, _opening: object) -> None:
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        for _request, answer in self.waiting.values():
            if not answer.done():
                answer.set_exception(exc)


class UdpChannels:
    """The shared sockets of one DNS client, one per server and source address, open while used."""

    def __init__(self) -> None:
        self._sockets: dict[tuple[str, int, str | None], _Socket] = {}

    async def ask(
        self, request: dns.message.Message, ip: str, port: int, *, timeout: float,
        resend_after: float | None = None, source: str | None = None,
    ) -> dns.message.Message:
        """Send ``request`` and return its answer, sending it once more after ``resend_after``
        seconds without one (UDP loses datagrams). Raises :class:`dns.exception.Timeout` after
        ``timeout`` seconds, or the socket's error (such as a refused port)."""
        key = (ip, port, source)
        sock = self._sockets.get(key)
        if sock is None:
            sock = self._sockets[key] = _Socket()
            sock.opening = asyncio.ensure_future(asyncio.get_running_loop().create_datagram_endpoint(
                lambda: sock, remote_addr=(ip, port), local_addr=(source, 0) if source else None))
        sock.users += 1
        answer: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()
        request.id = _free_id(sock.waiting)
        sock.waiting[request.id] = (request, answer)
        try:
            assert sock.opening is not None
            await asyncio.shield(sock.opening)
            assert sock.transport is not None
            wire = request.to_wire()
            sock.transport.sendto(wire)
            first = timeout if resend_after is None else min(resend_after, timeout)
            try:
                return await asyncio.wait_for(asyncio.shield(answer), first)
            except asyncio.TimeoutError:
                if first >= timeout:
                    raise timed_out(timeout) from None
            sock.transport.sendto(wire)
            try:
                return await asyncio.wait_for(answer, timeout - first)
            except asyncio.TimeoutError:
                raise timed_out(timeout) from None
        finally:
            if not answer.done():
                answer.cancel()
            sock.waiting.pop(request.id, None)
            sock.users -= 1
            if sock.users == 0:
                if self._sockets.get(key) is sock:
                    del self._sockets[key]
                sock.close()


def timed_out(seconds: float) -> dns.exception.Timeout:
    """dnspython's own timeout error, as its resolver raises it (its constructor is untyped)."""
    error: Callable[..., dns.exception.Timeout] = dns.exception.Timeout
    return error(timeout=seconds)


def _free_id(waiting: Mapping[int, object]) -> int:
    """A random message ID that no question on this socket uses (an answer is matched by it)."""
    while True:
        candidate = secrets.randbelow(65536)
        if candidate not in waiting:
            return candidate
