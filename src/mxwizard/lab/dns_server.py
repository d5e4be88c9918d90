"""The lab's authoritative DNS server: the miniature internet's name service, on loopback.

Every lab scenario stands on DNS: MX records that point somewhere (or nowhere), reverse zones for
the PTR checks, a blocklist zone, SPF and DKIM records in TXT. This server answers them from
dnspython zones over UDP and TCP on one port, the way a real authoritative server does, so that the
probes and real tools (``dig``) see the same answers they would see on the internet: correct
NXDOMAIN versus NODATA with the SOA in the authority section, CNAME chains, truncation over UDP
with the retry over TCP. It also stands in for the resolver, so it sets RA and answers a "whoami"
name (like myip.opendns.com) with the public address configured for each asking client.

Trainers and tests can break it on purpose: per-name faults (SERVFAIL, no answer at all, a slow
answer) and a latency added to every answer. Delays never block the other queries: answers are
scheduled on the event loop, not slept on. With ``lies`` it plays a lying resolver instead (a
captive portal, a filtering resolver, broken VPN DNS): "no such name" for every question, even
for the root of the DNS.

It can also stand in for a validating resolver (DNSSEC): zones named in ``signed`` get the AD
bit in their answers when the query asks for it (AD or DO set, RFC 6840 §5.7), as a validating
resolver sets it for data it authenticated; zones named in ``bogus`` answer SERVFAIL with the
Extended DNS Error "DNSSEC Bogus" (RFC 8914), unless the query sets CD, when the data comes back
unauthenticated — exactly what a validating resolver does with a zone whose signatures are broken.
No signatures are made: the lab shows what a sender's resolver concludes, not how.

With ``root_apex_only``, the root zone answers for its apex only (the root's name servers, the
sanity question of every diagnosis): the lab holds no top-level domain but those of its zones,
and a name outside them is refused, as unknown to the lab, never declared non-existent.

The zones are copied into a lookup index once, when the server is built (or ``load_zones`` is
called); nothing is rebuilt per query.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

log = logging.getLogger(__name__)

#: How many CNAME links are followed before the server answers with what it has collected.
MAX_CNAME_CHAIN = 8
#: The UDP payload size this server announces in EDNS replies (the common "DNS flag day" value).
OUR_EDNS_PAYLOAD = 1232
#: Largest DNS message: UDP without EDNS is limited to 512 bytes, TCP to 65535.
CLASSIC_UDP_LIMIT = 512
TCP_LIMIT = 65535
#: How many rendered replies are kept for reuse before the store is emptied and starts over.
REPLY_CACHE_SIZE = 10_000
#: TTL of the whoami answers: they depend on who asks, so nobody should cache them.
WHOAMI_TTL = 0

_HEADER = struct.Struct("!HHHHHH")
_QR = int(dns.flags.QR)
_RD = int(dns.flags.RD)
_RA = int(dns.flags.RA)
_AA = int(dns.flags.AA)
_OPCODE_MASK = 0x7800


class Fault(str, Enum):
    """A way the lab's DNS can be broken for a name and every name below it."""

    SERVFAIL = "servfail"  # answer SERVFAIL
    DROP = "drop"  # never answer (the client times out)
    SLOW = "slow"  # answer correctly, but only after a delay (seconds, given with the fault)


@dataclass(frozen=True)
class _ZoneData:
    """One served zone: its origin and the SOA that goes into negative answers."""

    origin: dns.name.Name
    #: The apex SOA with the negative-caching TTL (RFC 2308: the smaller of its TTL and MINIMUM).
    negative_soa: dns.rrset.RRset


@dataclass(frozen=True)
class _Owner:
    """A name that exists in a zone: its records by type (empty for an empty non-terminal)."""

    zone: _ZoneData
    rrsets: Mapping[int, dns.rrset.RRset]


def _absolute_rrset(name: dns.name.Name, origin: dns.name.Name,
                    rdataset: dns.rdataset.Rdataset, relativized: bool) -> dns.rrset.RRset:
    """Copy a zone's rdataset into an RRset whose owner and embedded names are all absolute.

    Zones parsed with relativize=True keep names like ``mail`` inside MX rdata; a response may mix
    records of several zones, so every name is made absolute here, once. A zone parsed with
    relativize=False (the built-in lab's) already holds absolute names: its rdata, which dnspython
    never changes in place, are shared as they are, and the server stays independent of later
    changes to the zone's node sets all the same.
    """
    if not relativized:
        return dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))
    rdatas = [
        dns.rdata.from_text(rd.rdclass, rd.rdtype, rd.to_text(origin=origin, relativize=False))
        for rd in rdataset
    ]
    return dns.rrset.from_rdata_list(name, rdataset.ttl, rdatas)


def _build_index(zones: Iterable[dns.zone.Zone]) -> tuple[dict[dns.name.Name, _ZoneData],
                                                           dict[dns.name.Name, _Owner]]:
    """Index the zones: origin → zone, and every existing owner name → its records.

    When zones nest (``test.`` and ``healthy.test.``), a name belongs to the zone with the longest
    matching origin, as on a real server holding both.
    """
    by_origin: dict[dns.name.Name, _ZoneData] = {}
    contents: list[tuple[_ZoneData, dict[dns.name.Name, dict[int, dns.rrset.RRset]]]] = []
    for zone in zones:
        origin = zone.origin
        if origin is None or not origin.is_absolute():
            raise ValueError("every lab zone needs an absolute origin")
        owners: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
        for name, rdataset in zone.iterate_rdatasets():
            owner = name.derelativize(origin)
            owners.setdefault(owner, {})[rdataset.rdtype] = _absolute_rrset(
                owner, origin, rdataset, zone.relativize)
        soa = owners.get(origin, {}).get(dns.rdatatype.SOA)
        if soa is None:
            raise ValueError(f"zone {origin} has no SOA record at its apex")
        negative_ttl = min(soa.ttl, soa[0].minimum)
        data = _ZoneData(origin, dns.rrset.from_rdata_list(origin, negative_ttl, list(soa)))
        if origin in by_origin:
            raise ValueError(f"zone {origin} is given twice")
        by_origin[origin] = data
        contents.append((data, owners))

    index: dict[dns.name.Name, _Owner] = {}
    for data, owners in contents:
        for owner, rrsets in owners.items():
            if _closest_zone(by_origin, owner) is not data:
                continue  # hidden by a more specific zone
            index[owner] = _Owner(data, rrsets)
            parent = owner
            while parent != data.origin:  # the names above it exist too (empty non-terminals)
                parent = parent.parent()
                if parent not in index and _closest_zone(by_origin, parent) is data:
                    index[parent] = _Owner(data, {})
    return by_origin, index


def _closest_zone(by_origin: Mapping[dns.name.Name, _ZoneData], name: dns.name.Name) -> _ZoneData | None:
    """The served zone with the longest origin that contains ``name``, if any."""
    while True:
        zone = by_origin.get(name)
        if zone is not None:
            return zone
        if len(name) <= 1:
            return None
        name = name.parent()


def _header_only_reply(wire: bytes, rcode: int) -> bytes:
    """A reply made of the header alone, for queries that cannot (or need not) be parsed further."""
    qid, flags = struct.unpack_from("!HH", wire)
    reply_flags = _QR | (flags & _OPCODE_MASK) | (flags & _RD) | _RA | (rcode & 0xF)
    return _HEADER.pack(qid, reply_flags, 0, 0, 0, 0)


class LabDnsServer:
    """An authoritative DNS server for the lab, answering several zones on one UDP+TCP port.

    ``faults`` maps a name to (fault, seconds); the fault covers that name and everything below it
    (the seconds matter for :attr:`Fault.SLOW` only). ``latency_ms`` delays every answer.
    A query for A or TXT of ``whoami_name`` answers the public address configured for the asking
    client in ``whoami``, else ``whoami_default``, else the client's own address.
    """

    #: How many queries were answered (each reply sent counts once; dropped queries do not).
    queries: int

    def __init__(
        self,
        zones: Iterable[dns.zone.Zone],
        *,
        latency_ms: float = 0,
        faults: Mapping[str, tuple[Fault, float]] | None = None,
        whoami_name: str = "myip.lab.test",
        whoami: Mapping[str, str] | None = None,
        whoami_default: str | None = None,
        tcp_idle_timeout: float = 5.0,
        lies: bool = False,
        root_apex_only: bool = False,
        signed: Iterable[str] = (),
        bogus: Iterable[str] = (),
    ) -> None:
        self._zones, self._index = _build_index(zones)
        #: Zones whose answers carry AD (validated), and zones whose validation fails.
        self._signed = frozenset(dns.name.from_text(z) for z in signed)
        self._bogus = frozenset(dns.name.from_text(z) for z in bogus)
        #: The root zone answers for its apex only; a name below it that no other zone holds is
        #: refused (unknown to the lab), not declared non-existent: the built-in lab's view of
        #: the real internet. Off, a root zone is an ordinary zone (test suites build one).
        self.root_apex_only = root_apex_only
        #: Answer NXDOMAIN to every question (the lab's lying resolver).
        self.lies = lies
        self.latency = max(0.0, latency_ms / 1000)
        self._faults = {dns.name.from_text(name): (Fault(kind), float(delay))
                        for name, (kind, delay) in (faults or {}).items()}
        self._whoami_name = dns.name.from_text(whoami_name)
        self._whoami = {client: str(ipaddress.ip_address(public))
                        for client, public in (whoami or {}).items()}
        self._whoami_default = str(ipaddress.ip_address(whoami_default)) if whoami_default else None
        self.tcp_idle_timeout = tcp_idle_timeout
        self.queries = 0
        self.host: str | None = None
        self.port: int | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._sessions: set[_TcpSession] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        #: Rendered replies by (over TCP, query bytes after the ID): (reply or None for a drop, extra delay).
        self._replies: dict[tuple[bool, bytes], tuple[bytes | None, float]] = {}

    def load_zones(self, zones: Iterable[dns.zone.Zone]) -> None:
        """Replace the served zones (the index is rebuilt once, then swapped in whole)."""
        self._zones, self._index = _build_index(zones)
        self._replies = {}

    # ----------------------------------------------------------------- answering

    def respond(self, wire: bytes, client_ip: str, *, over_tcp: bool = False) -> tuple[bytes, float] | None:
        """The reply to one query in wire format and the delay before sending it; None: stay silent.

        Pure and synchronous (no I/O), so it is easy to test; never raises on hostile input.
        Rendering a reply costs far more than parsing the query, so replies that do not depend on
        who asks are kept, keyed by the query's bytes after its ID, and reused with the new ID.
        """
        if len(wire) < _HEADER.size:
            return None
        _qid, flags, qdcount, _an, _ns, _ar = _HEADER.unpack_from(wire)
        if flags & _QR:
            return None  # a response, not a query: answering it could start a loop
        if (flags & _OPCODE_MASK) >> 11 != dns.opcode.QUERY:
            return _header_only_reply(wire, dns.rcode.NOTIMP), self.latency
        if qdcount != 1:
            return _header_only_reply(wire, dns.rcode.FORMERR), self.latency
        key = (over_tcp, wire[2:])
        known = self._replies.get(key)
        if known is None:
            try:
                query = dns.message.from_wire(wire)
            except Exception:  # anything malformed, whatever dnspython raises for it
                return _header_only_reply(wire, dns.rcode.FORMERR), self.latency
            try:
                rendered, extra_delay, reusable = self._respond_to(query, client_ip, over_tcp)
            except Exception:  # a bug must cost one answer, never the server
                log.exception("lab DNS server failed to answer a query")
                return _header_only_reply(wire, dns.rcode.SERVFAIL), self.latency
            known = (rendered, extra_delay)
            if reusable:
                if len(self._replies) >= REPLY_CACHE_SIZE:
                    self._replies = {}
                self._replies[key] = known
        rendered, extra_delay = known
        if rendered is None:
            return None
        return wire[:2] + rendered[2:], self.latency + extra_delay

    def _respond_to(self, query: dns.message.Message, client_ip: str,
                    over_tcp: bool) -> tuple[bytes | None, float, bool]:
        """Render the reply: (wire or None to stay silent, delay on top of latency, reusable)."""
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        delay = 0.0
        reusable = True
        response = dns.message.make_response(query, recursion_available=True, our_payload=OUR_EDNS_PAYLOAD)
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)  # RFC 6891: we only speak EDNS version 0
        elif question.rdclass != dns.rdataclass.IN or (
            dns.rdatatype.is_metatype(rdtype) and rdtype != dns.rdatatype.ANY
        ):
            response.set_rcode(dns.rcode.REFUSED)  # other classes, zone transfers
        elif self.lies:
            response.set_rcode(dns.rcode.NXDOMAIN)  # what a lying resolver says to everything
        else:
            fault = self._fault_for(qname)
            if fault is not None and fault[0] is Fault.DROP:
                return None, 0.0, True
            if fault is not None and fault[0] is Fault.SERVFAIL:
                response.set_rcode(dns.rcode.SERVFAIL)
            elif self._fails_validation(query, qname):
                response.set_rcode(dns.rcode.SERVFAIL)
                if query.edns >= 0:  # RFC 8914: say why, as validating resolvers do
                    response.use_edns(0, payload=OUR_EDNS_PAYLOAD,
                                      options=[dns.edns.EDEOption(dns.edns.EDECode.DNSSEC_BOGUS)])
            else:
                if fault is not None:
                    delay += max(0.0, fault[1])
                if qname == self._whoami_name:
                    self._answer_whoami(response, qname, rdtype, client_ip)
                    reusable = False  # the answer depends on who asks
                else:
                    self._answer_from_zones(response, qname, rdtype)
                    if self._validated(query, response, qname):
                        response.flags |= dns.flags.AD
        if over_tcp:
            limit = TCP_LIMIT
        else:
            limit = max(CLASSIC_UDP_LIMIT, query.payload) if query.edns >= 0 else CLASSIC_UDP_LIMIT
        return response.to_wire(max_size=limit, prefer_truncation=True), delay, reusable

    def _zone_in(self, name: dns.name.Name, zones: frozenset[dns.name.Name]) -> bool:
        zone = _closest_zone(self._zones, name)
        return zone is not None and zone.origin in zones

    def _fails_validation(self, query: dns.message.Message, qname: dns.name.Name) -> bool:
        """A name in a bogus zone, asked without CD: the validating resolver refuses it."""
        return bool(self._bogus) and not query.flags & dns.flags.CD \
            and self._zone_in(qname, self._bogus)

    def _validated(self, query: dns.message.Message, response: dns.message.Message,
                   qname: dns.name.Name) -> bool:
        """AD for an answer whose every record (and the asked name) lies in signed zones, to
        a query that asked for it (AD or DO); never with CD, never for a refusal."""
        asked = query.flags & dns.flags.AD or query.ednsflags & dns.flags.DO
        if not self._signed or not asked or query.flags & dns.flags.CD \
                or response.rcode() == dns.rcode.REFUSED:
            return False
        names = [qname, *(rrset.name for rrset in response.answer)]
        return all(self._zone_in(name, self._signed) for name in names)

    def _fault_for(self, qname: dns.name.Name) -> tuple[Fault, float] | None:
        """The fault configured for ``qname`` or its closest broken ancestor."""
        if not self._faults:
            return None
        name = qname
        while True:
            fault = self._faults.get(name)
            if fault is not None or len(name) <= 1:
                return fault
            name = name.parent()

    def _answer_from_zones(self, response: dns.message.Message, qname: dns.name.Name, rdtype: int) -> None:
        """Fill in the answer as an authoritative server: records, CNAME chain, NXDOMAIN or NODATA."""
        name = qname
        seen: set[dns.name.Name] = set()
        for link in range(MAX_CNAME_CHAIN + 1):
            owner = self._index.get(name)
            if owner is None:
                zone = _closest_zone(self._zones, name)
                if zone is None or (self.root_apex_only and zone.origin == dns.name.root):
                    if link == 0:  # not ours at all; a CNAME leading out just ends here
                        response.set_rcode(dns.rcode.REFUSED)
                    return
                response.flags |= dns.flags.AA
                response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(zone.negative_soa)
                return
            response.flags |= dns.flags.AA
            if rdtype == dns.rdatatype.ANY and owner.rrsets:
                response.answer.extend(owner.rrsets.values())
                return
            rrset = owner.rrsets.get(rdtype)
            if rrset is not None:
                response.answer.append(rrset)
                return
            cname = owner.rrsets.get(dns.rdatatype.CNAME)
            if cname is None:
                response.authority.append(owner.zone.negative_soa)  # NODATA
                return
            response.answer.append(cname)
            seen.add(name)
            name = cname[0].target
            if name in seen:
                return  # a CNAME loop: answer with the links collected so far

    def _answer_whoami(self, response: dns.message.Message, qname: dns.name.Name, rdtype: int,
                       client_ip: str) -> None:
        """Answer the whoami name with the public address configured for the asking client."""
        public = self._whoami.get(client_ip) or self._whoami_default or client_ip
        address_type = dns.rdatatype.A if ipaddress.ip_address(public).version == 4 else dns.rdatatype.AAAA
        response.flags |= dns.flags.AA
        if rdtype in (address_type, dns.rdatatype.ANY):
            response.answer.append(dns.rrset.from_text(qname, WHOAMI_TTL, "IN", address_type, public))
        elif rdtype == dns.rdatatype.TXT:
            response.answer.append(dns.rrset.from_text(qname, WHOAMI_TTL, "IN", "TXT", f'"{public}"'))
        else:
            zone = _closest_zone(self._zones, qname)
            if zone is not None:
                response.authority.append(zone.negative_soa)

    # ----------------------------------------------------------------- sockets

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind UDP and TCP on host:port (port 0: pick a free port usable for BOTH); return the port."""
        if self._udp is not None:
            raise RuntimeError("the lab DNS server is already running")
        ipaddress.ip_address(host)  # an address literal only: a host name could bind several sockets
        loop = asyncio.get_running_loop()
        attempts = 20 if port == 0 else 1
        for attempt in range(attempts):
            udp, _ = await loop.create_datagram_endpoint(lambda: _UdpEndpoint(self), local_addr=(host, port))
            chosen = int(udp.get_extra_info("sockname")[1])
            try:
                tcp = await loop.create_server(lambda: _TcpSession(self), host, chosen, reuse_address=True)
            except OSError:
                udp.close()  # the TCP side of this port is taken: try another free UDP port
                if attempt == attempts - 1:
                    raise
                continue
            self._udp, self._tcp, self.host, self.port = udp, tcp, host, chosen
            return chosen
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Stop answering: cancel delayed answers, close the sockets and every TCP connection."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for session in list(self._sessions):
                session.close()
            await self._tcp.wait_closed()
            self._tcp = None

    def _dispatch(self, wire: bytes, client_ip: str, over_tcp: bool, send: Callable[[bytes], bool]) -> bool:
        """Answer one query now or later through ``send``; False if it will never be answered."""
        reply = self.respond(wire, client_ip, over_tcp=over_tcp)
        if reply is None:
            return False
        data, delay = reply
        if delay <= 0:
            self._deliver(send, data)
            return True

        def fire() -> None:
            self._timers.discard(timer)
            self._deliver(send, data)

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)
        return True

    def _deliver(self, send: Callable[[bytes], bool], data: bytes) -> None:
        if send(data):
            self.queries += 1


class _UdpEndpoint(asyncio.DatagramProtocol):
    """The UDP side: one datagram in, at most one datagram out."""

    def __init__(self, server: LabDnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        def send(reply: bytes) -> bool:
            if self.transport is None or self.transport.is_closing():
                return False
            self.transport.sendto(reply, addr)
            return True

        self.server._dispatch(data, addr[0], False, send)

    def error_received(self, exc: Exception) -> None:
        log.debug("lab DNS server: UDP error %s", exc)  # e.g. ICMP port unreachable from a gone client


class _TcpSession(asyncio.Protocol):
    """One TCP connection: length-prefixed queries (RFC 7766), several per connection, idle timeout."""

    def __init__(self, server: LabDnsServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.client_ip = ""
        self.buffer = bytearray()
        self.pending = 0  # answers scheduled but not yet written
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0] if peer else ""
        self.server._sessions.add(self)
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            size = int.from_bytes(self.buffer[:2], "big")
            if len(self.buffer) < 2 + size:
                break
            query = bytes(self.buffer[2:2 + size])
            del self.buffer[:2 + size]
            self.pending += 1  # _send takes it back, now or after the delay
            if not self.server._dispatch(query, self.client_ip, True, self._send):
                self.pending -= 1  # never answered (a drop fault or a response packet)
        self._arm_idle_timer()

    def _send(self, reply: bytes) -> bool:
        self.pending -= 1
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(len(reply).to_bytes(2, "big") + reply)
        self._arm_idle_timer()
        return True

    def _arm_idle_timer(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.idle = asyncio.get_running_loop().call_later(self.server.tcp_idle_timeout, self._idle_expired)

    def _idle_expired(self) -> None:
        if self.pending > 0:
            self._arm_idle_timer()  # an answer is still on its way (slow fault, latency)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.server._sessions.discard(self)
        self.buffer.clear()
