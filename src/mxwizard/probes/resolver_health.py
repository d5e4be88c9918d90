"""Is the resolver honest? A question whose answer exists on every DNS tree, asked of it.

Captive portals, filtering resolvers and broken VPN DNS often answer "no such name" (NXDOMAIN)
for every question. A diagnosis that believed them would tell the user that gmail.com does not
exist, and blame the domain. The root of the DNS always exists and always has name servers, on
the internet as on a private network with a root of its own, so ``. NS`` answered with NXDOMAIN
(or with no name servers) proves that the resolver lies. A timeout or SERVFAIL proves nothing
either way. Whether the answer is a lie is for the rules (``diagnosis.rules.dns``) to say; this
probe only asks.

The runner asks it in the background as soon as a diagnosis first uses its DNS client, so the
question travels in the same round as the first real lookup and costs no time on the critical
path; its answer is recorded as the fact ``RESOLVER_SANITY`` (:mod:`mxwizard.diagnosis.facts`)
before any rule could conclude "does not exist" from an NXDOMAIN.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mxwizard.probes.dns import DnsClient, Lookup

#: The sanity questions: the root's name servers must exist on any honest resolver. One
#: question is enough for the proof; a second about root-servers.net would not hold on a
#: private DNS tree (an intranet, the lab) whose root does not delegate it.
SANITY_QUESTIONS: tuple[tuple[str, str], ...] = ((".", "NS"),)


@dataclass(frozen=True)
class ResolverSanity:
    """The resolver's answers to the sanity questions, as asked (judged in diagnosis.rules.dns)."""

    #: The resolver(s) asked, as ``ip:port`` (for the finding that names it).
    server: str
    lookups: tuple[Lookup, ...]


async def resolver_sanity(dns: DnsClient) -> ResolverSanity:
    """Ask the sanity questions of ``dns``'s resolver, at the same time; never raises for DNS
    or network trouble (the client turns it into a lookup outcome)."""
    found = await asyncio.gather(*(dns.query(name, qtype) for name, qtype in SANITY_QUESTIONS))
    return ResolverSanity(dns.server_text, tuple(found))
