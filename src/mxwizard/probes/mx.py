"""Where does mail for a domain go? The MX lookup, the implicit-MX fallback, and each MX host.

Observation only: which records exist and what they point at. Whether that is right is for the
rules in ``diagnosis.rules.mx`` to say.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from mxwizard.probes.dns import DnsClient, Lookup, Outcome
from mxwizard.probes.reverse_dns import ReverseDns, reverse_dns


@dataclass(frozen=True)
class MxTarget:
    """One MX record: its preference (lower is tried first) and the host it names."""

    preference: int
    host: str

    @property
    def is_null(self) -> bool:
        """``MX 0 .`` (RFC 7505): the domain declares that it accepts no mail."""
        return self.host in ("", ".")

    @property
    def ip_literal(self) -> str | None:
        """The address if the MX names an IP address instead of a host name (invalid)."""
        try:
            return str(ipaddress.ip_address(self.host.strip("[]")))
        except ValueError:
            return None


@dataclass(frozen=True)
class MxFacts:
    """The MX lookup of a domain and, when it has no MX, its own address records."""

    domain: str
    mx: Lookup
    #: A and AAAA of the domain itself, looked up only when there is no MX (implicit MX).
    fallback: tuple[Lookup, ...] = ()

    @property
    def targets(self) -> list[MxTarget]:
        """The MX records sorted by preference, as a sender tries them."""
        pairs: list[tuple[int, str]] = [v for v in self.mx.values("MX")]  # type: ignore[misc]
        found = [MxTarget(preference, host) for preference, host in pairs]
        return sorted(found, key=lambda t: (t.preference, t.host))

    @property
    def fallback_addresses(self) -> list[str]:
        """The domain's own addresses (what senders use when there is no MX)."""
        return [str(v) for lookup in self.fallback for v in lookup.values()]


@dataclass(frozen=True)
class MxHost:
    """One mail host: its addresses (with the CNAME chain, if any) and each address's rDNS."""

    preference: int
    host: str
    lookups: tuple[Lookup, ...] = ()
    reverse: tuple[ReverseDns, ...] = field(default=())
    implicit: bool = False

    @property
    def ip_literal(self) -> str | None:
        """The address if the MX names an IP address instead of a host name (invalid)."""
        return MxTarget(self.preference, self.host).ip_literal

    @property
    def addresses(self) -> list[str]:
        """Every IPv4 and IPv6 address of the host."""
        return [str(v) for lookup in self.lookups for v in lookup.values()]

    @property
    def cname_chain(self) -> list[str]:
        """CNAMEs met on the way to the addresses (an MX must name the host directly)."""
        for lookup in self.lookups:
            if lookup.cname_chain:
                return lookup.cname_chain
        return []

    @property
    def failed_lookups(self) -> list[Lookup]:
        """Lookups whose server did not answer usefully (so "no address" is not proven)."""
        return [lookup for lookup in self.lookups if lookup.outcome.is_failure]


async def mx_records(dns: DnsClient, domain: str) -> MxFacts:
    """The MX records of ``domain``; with none (NODATA), also its A and AAAA records."""
    mx = await dns.query(domain, "MX")
    fallback: tuple[Lookup, ...] = ()
    if mx.outcome is Outcome.NODATA:
        fallback = await dns.addresses(domain)
    return MxFacts(domain, mx, fallback)


async def mx_host(dns: DnsClient, preference: int, host: str, implicit: bool = False,
                  reverse: bool = True) -> MxHost:
    """The addresses of one MX host and (with ``reverse``) the reverse DNS of each."""
    if MxTarget(preference, host).ip_literal:
        return MxHost(preference, host, implicit=implicit)
    lookups = await dns.addresses(host)
    addresses = [str(v) for lookup in lookups for v in lookup.values()]
    found = await asyncio.gather(*(reverse_dns(dns, ip) for ip in addresses)) if reverse else []
    return MxHost(preference, host, tuple(lookups), tuple(found), implicit)


async def mx_hosts(dns: DnsClient, facts: MxFacts, reverse: bool = True) -> list[MxHost]:
    """Every MX host of the domain (or the domain itself as implicit MX), concurrently.

    A sender needs only the addresses; ``reverse=False`` skips the PTR and forward lookups that
    a diagnosis of the domain's own servers wants, so a delivery can start two round trips sooner.
    """
    if facts.targets:
        targets = [t for t in facts.targets if not t.is_null]
        return list(await asyncio.gather(
            *(mx_host(dns, t.preference, t.host, reverse=reverse) for t in targets)))
    if facts.fallback_addresses:
        return [await mx_host(dns, 0, facts.domain, implicit=True, reverse=reverse)]
    return []


@dataclass(frozen=True)
class MailRoute:
    """Where mail for a domain goes, as a sending server finds it: the MX records and the
    addresses of each host (no reverse DNS: a sender does not look at it)."""

    mx: MxFacts
    hosts: list[MxHost]


async def mail_route(dns: DnsClient, domain: str) -> MailRoute:
    """The MX records of ``domain`` and the addresses of its hosts."""
    mx = await mx_records(dns, domain)
    return MailRoute(mx, await mx_hosts(dns, mx, reverse=False))
