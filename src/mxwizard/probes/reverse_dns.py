"""Reverse DNS of an address: its PTR names and whether each resolves back (FCrDNS).

Receivers look up the PTR of a connecting address and then the address records of that name; the
address must be among them ("forward-confirmed reverse DNS"). The same probe serves the receive
side (the MX hosts' names) and the send side (the sending server's IP).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from mxwizard.probes.dns import DnsClient, Lookup


@dataclass(frozen=True)
class ReverseDns:
    """What reverse DNS says about one IP address."""

    ip: str
    ptr: Lookup
    #: The PTR names (without the final dot); usually one.
    names: tuple[str, ...]
    #: For each PTR name, the A or AAAA lookup (matching the IP's family) of that name.
    forward: dict[str, Lookup] = field(default_factory=dict)

    @property
    def confirmed_names(self) -> list[str]:
        """PTR names whose address records contain the IP (forward-confirmed)."""
        return [name for name, lookup in self.forward.items() if self.ip in lookup.values()]

    @property
    def fcrdns(self) -> bool:
        """True when at least one PTR name resolves back to the IP."""
        return bool(self.confirmed_names)


async def reverse_dns(dns: DnsClient, ip: str) -> ReverseDns:
    """Look up the PTR of ``ip`` and then the addresses of every name it gives, concurrently."""
    ptr = await dns.ptr(ip)
    names = tuple(str(v) for v in ptr.values())
    qtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    lookups = await asyncio.gather(*(dns.query(name, qtype) for name in names))
    return ReverseDns(ip, ptr, names, dict(zip(names, lookups, strict=True)))
