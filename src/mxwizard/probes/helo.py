"""The HELO/EHLO name a sending server announces, and what DNS says about it.

Receivers compare three names that should all agree: the HELO name, the PTR name of the
connecting address, and the addresses the HELO name resolves to. This probe looks up the last;
the rules compare. Without ``--helo`` the name is assumed to be the PTR name (what a server
configured by the book says), and the facts remember that it was an assumption.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from mxwizard.probes.dns import DnsClient, Lookup


@dataclass(frozen=True)
class HeloFacts:
    """The HELO name and its address lookups (none for an address literal or a bare name)."""

    name: str
    #: True when the user did not give ``--helo`` and the PTR name was assumed.
    assumed: bool
    lookups: tuple[Lookup, ...] = ()

    @property
    def literal(self) -> str | None:
        """The address of an address literal such as ``[192.0.2.1]``, else None."""
        if not (self.name.startswith("[") and self.name.endswith("]")):
            return None
        inner = self.name[1:-1]
        inner = inner[5:] if inner.lower().startswith("ipv6:") else inner
        try:
            return str(ipaddress.ip_address(inner))
        except ValueError:
            return None

    @property
    def addresses(self) -> list[str]:
        """The addresses the name resolves to (A and AAAA)."""
        return [str(v) for lookup in self.lookups for v in lookup.values()]


def is_bare(name: str) -> bool:
    """A single label ("mailserver", "OEMCOMPUTER"): not fully qualified."""
    return "." not in name.strip(".") and not name.startswith("[")


async def helo_facts(dns: DnsClient, name: str, assumed: bool) -> HeloFacts:
    """Look up the addresses of a HELO name (skipped for address literals and bare names)."""
    name = name.rstrip(".") if not name.startswith("[") else name
    if name.startswith("[") or is_bare(name):
        return HeloFacts(name, assumed)
    a, aaaa = await dns.addresses(name)
    return HeloFacts(name, assumed, (a, aaaa))
