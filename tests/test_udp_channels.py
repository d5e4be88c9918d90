"""The shared UDP socket of the DNS client, against a deliberately awkward DNS server on loopback.

The server answers every question twice wrongly before answering it right: first a datagram too short
to be DNS, then garbage behind the right message ID, then a forged answer with the right ID but another
question. The client must take only the real answer, for every one of many questions in flight on one
socket at once.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import cast

import dns.exception
import dns.message
import dns.rrset

from mxwizard.probes.dns import DnsClient, Outcome
from mxwizard.probes.udp import UdpChannels


class _AwkwardServer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.sockets_seen: set[tuple[str, int]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.sockets_seen.add(addr)
        query = dns.message.from_wire(data)
        name = query.question[0].name
        forged = dns.message.make_query("forged.example.", "A")
        forged.id = query.id
        forged_answer = dns.message.make_response(forged)
        forged_answer.answer.append(dns.rrset.from_text(forged.question[0].name, 60, "IN", "A", "192.0.2.66"))
        real = dns.message.make_response(query)
        number = int(name.labels[0].decode().removeprefix("q"))
        real.answer.append(dns.rrset.from_text(name, 60, "IN", "A", f"192.0.2.{number}"))
        self.transport.sendto(b"\x00", addr)
        self.transport.sendto(data[:2] + b"\xff" * 30, addr)
        self.transport.sendto(forged_answer.to_wire(), addr)
        self.transport.sendto(real.to_wire(), addr)


async def test_many_questions_share_one_socket_and_take_only_their_own_answer() -> None:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(_AwkwardServer, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        client = DnsClient([("127.0.0.1", port)], timeout=3)
        lookups = await asyncio.gather(*(client.query(f"q{n}.example", "A") for n in range(1, 101)))
    finally:
        transport.close()
    assert [lk.outcome for lk in lookups] == [Outcome.ANSWER] * 100
    assert [lk.values("A") for lk in lookups] == [[f"192.0.2.{n}"] for n in range(1, 101)]
    assert len(server.sockets_seen) == 1  # one socket for all hundred questions in flight


async def test_a_closed_port_is_no_answer_at_once_not_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DnsClient([("127.0.0.1", port)], timeout=30)
    started = time.monotonic()
    lookup = await client.query("example.test", "MX")
    assert lookup.outcome is Outcome.TIMEOUT
    assert "port is closed" in lookup.note
    assert time.monotonic() - started < 15  # the ICMP answer, not the 30 s timeout


async def test_a_silent_server_times_out_and_the_socket_is_closed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        channels = UdpChannels()
        query = dns.message.make_query("example.test", "A")
        try:
            await channels.ask(query, "127.0.0.1", silent.getsockname()[1], timeout=0.3, resend_after=0.1)
        except dns.exception.Timeout:
            pass
        else:
            raise AssertionError("a silent server gave an answer")
        received = [silent.recv(512, socket.MSG_DONTWAIT) for _ in range(2)]
    assert all(dns.message.from_wire(r).id == query.id for r in received)  # sent, then sent once more
    assert channels._sockets == {}
