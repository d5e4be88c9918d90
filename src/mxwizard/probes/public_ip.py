"""The sending server's public IP address: the one receivers see, and judge.

Receivers look up reverse DNS, blocklists and SPF for the address a connection comes from,
which for a server behind a home router is the router's public address, not the 192.168.x.y
the server knows itself by. Admins find it by hand by asking a DNS server that echoes the
asker's address: ``dig @resolver1.opendns.com myip.opendns.com`` or
``dig TXT o-o.myaddr.l.google.com @ns1.google.com``. This probe does the same. On a private
network (an intranet, a classroom, the built-in lab) the settings may name a whoami name of its
own, answered by the network's resolver; the probe asks that instead and knows nothing of labs.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: OpenDNS answers ``myip.opendns.com`` with the asking client's address.
OPENDNS_SERVER = "resolver1.opendns.com"
OPENDNS_WHOAMI = "myip.opendns.com"
#: Google's authoritative servers answer this TXT name with the asking client's address.
GOOGLE_SERVER = "ns1.google.com"
GOOGLE_WHOAMI = "o-o.myaddr.l.google.com"


class Scope(str, Enum):
    """Where an address can be reached from, as far as a receiver on the internet is concerned."""

    PUBLIC = "public"
    PRIVATE = "private"  # RFC 1918, IPv6 ULA: only inside a home or office network
    SHARED = "shared"  # RFC 6598 100.64.0.0/10: carrier-grade NAT inside the ISP
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    RESERVED = "reserved"  # documentation, multicast, unspecified...


_SHARED = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def address_scope(ip: str, own_networks: tuple[str, ...] = ()) -> Scope:
    """Classify ``ip``. Addresses in ``own_networks`` (a private network the user controls:
    ``--private-network``, or the lab's loopback range) are that network's own and count as
    public: they are judged like any address, never as a fault."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _networks(own_networks)
           if network.version == address.version):
        return Scope.PUBLIC
    if address.is_loopback:
        return Scope.LOOPBACK
    if address in _SHARED:
        return Scope.SHARED
    if address.is_link_local:
        return Scope.LINK_LOCAL
    if any(address.version == net.version and address in net for net in _PRIVATE):
        return Scope.PRIVATE
    if not address.is_global or address.is_multicast:
        return Scope.RESERVED
    return Scope.PUBLIC


@functools.lru_cache(maxsize=32)
def _networks(ranges: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(r, strict=False) for r in ranges)


@dataclass(frozen=True)
class PublicIp:
    """The address given with ``--ip`` and/or the one detected through DNS."""

    given: str | None
    detected: str | None = None
    #: How the detection was done ("the lab's whoami name", "OpenDNS", ...), or "" if not tried.
    method: str = ""
    #: The whoami lookups, with their answers (evidence).
    lookups: tuple[Lookup, ...] = ()
    #: Why detection failed, when it did.
    problem: str = ""
    #: When the two echo services disagree: both answers (several exits: load-balanced NAT).
    disagreement: tuple[str, ...] = ()

    @property
    def address(self) -> str | None:
        """The address receivers will judge: the given one, unless it is private and the
        detected public one is known."""
        if self.given and self.detected and self.given != self.detected:
            return self.detected
        return self.given or self.detected


def _first_address(lookup: Lookup) -> str | None:
    """The first usable address in an A/AAAA or TXT answer (TXT may hold it in quotes)."""
    if lookup.outcome is not Outcome.ANSWER:
        return None
    for value in lookup.values():
        text = str(value).strip().strip('"')
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            continue
    return None


async def detect_by_name(
    resolvers: list[tuple[str, int]], name: str, source_ip: str | None, timeout: float,
    on_lookup: Callable[[Lookup], None] | None = None,
    slots: asyncio.Semaphore | None = None, clock: Callable[[], float] | None = None,
) -> PublicIp:
    """Ask the network's own whoami ``name`` (settings.whoami_name), from ``source_ip`` when
    given, since the answer is the address the question came from."""
    client = DnsClient(resolvers, timeout, on_lookup, slots, clock, source=source_ip)
    lookup = await client.query(name, "A")
    found = _first_address(lookup)
    problem = "" if found else f"the whoami name {name} gave no address ({lookup.outcome.value})"
    return PublicIp(None, found, f"the whoami name {name}", (lookup,), problem)


async def detect_online(
    dns: DnsClient, timeout: float, on_lookup: Callable[[Lookup], None] | None = None,
    slots: asyncio.Semaphore | None = None, clock: Callable[[], float] | None = None,
) -> PublicIp:
    """Ask OpenDNS and Google's name server, at the same time, what address we come from.

    Real internet only (never in tests): each echo server is found through the diagnosis's own
    resolver first, then asked directly.
    """

    async def ask(server: str, name: str, qtype: str) -> tuple[str | None, list[Lookup], str]:
        where = await dns.query(server, "A")
        addresses = [str(v) for v in where.values()]
        if not addresses:
            return None, [where], f"{server} could not be found ({where.outcome.value})"
        echo = DnsClient([(addresses[0], 53)], timeout, on_lookup, slots, clock)
        answer = await echo.query(name, qtype)
        found = _first_address(answer)
        return found, [where, answer], "" if found else f"{server} gave no address"

    (open_ip, open_lookups, open_problem), (google_ip, google_lookups, google_problem) = (
        await asyncio.gather(ask(OPENDNS_SERVER, OPENDNS_WHOAMI, "A"),
                             ask(GOOGLE_SERVER, GOOGLE_WHOAMI, "TXT")))
    lookups = tuple(open_lookups + google_lookups)
    found = open_ip or google_ip
    disagreement = (open_ip, google_ip) if open_ip and google_ip and open_ip != google_ip else ()
    method = "OpenDNS (myip.opendns.com)" if open_ip else "Google (o-o.myaddr.l.google.com)"
    problem = "" if found else "; ".join(p for p in (open_problem, google_problem) if p)
    return PublicIp(None, found, method if found else "", lookups, problem,
                    tuple(d for d in disagreement if d))


async def detect_public_ip(
    resolvers: list[tuple[str, int]], timeout: float, *, whoami_name: str | None = None,
    source_ip: str | None = None, on_lookup: Callable[[Lookup], None] | None = None,
    slots: asyncio.Semaphore | None = None, clock: Callable[[], float] | None = None,
) -> PublicIp:
    """The address this machine's connections come from: the network's own whoami name when
    one is configured (a private network, the lab), else the public echo services. The one
    detection the send check and the wizard's form share."""
    if whoami_name:
        return await detect_by_name(resolvers, whoami_name, source_ip, timeout, on_lookup,
                                    slots, clock)
    dns = DnsClient(resolvers, timeout, on_lookup, slots, clock)
    return await detect_online(dns, timeout, on_lookup, slots, clock)
