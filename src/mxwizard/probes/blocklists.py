"""Blocklist (DNSBL) lookups: is an address or a domain on the lists receivers consult?

Every zone is asked at the same time, together with its RFC 5782 self-test (the test entry
127.0.0.2, or ``test`` on domain lists, must be listed; 127.0.0.1, or ``invalid``, must not),
so a sweep of thirty lists costs one round trip, not thirty. Only a listing costs a second
round trip: the TXT record with the list's reason. No judgement here; the rules decide what a
listing, a refusal or a broken zone means.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mxwizard.knowledge.blocklists import ListKind
from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: RFC 5782 §5: the entries every list must (and must not) contain, per kind of list.
SELF_TEST_LISTED = {ListKind.IP: "127.0.0.2", ListKind.DOMAIN: "test"}
SELF_TEST_CLEAN = {ListKind.IP: "127.0.0.1", ListKind.DOMAIN: "invalid"}


@dataclass(frozen=True)
class ZoneAnswer:
    """What one list said about the subject, and how it passed its self-test."""

    zone: str
    #: The A query for the subject under the zone.
    query: Lookup
    #: The TXT query (the list's reason), asked only when the subject is listed.
    reason: Lookup | None
    #: The A query for the entry that must be listed (127.0.0.2 / ``test``).
    test_listed: Lookup
    #: The A query for the entry that must not be listed (127.0.0.1 / ``invalid``), asked only when
    #: the subject is listed: a list that does not list the subject evidently does not list everything.
    test_clean: Lookup | None

    @property
    def answers(self) -> list[str]:
        """The addresses the list answered for the subject (empty: not listed)."""
        return [str(v) for v in self.query.values("A")] if self.query.outcome is Outcome.ANSWER else []

    @property
    def reasons(self) -> list[str]:
        """The list's TXT reasons for a listing (untrusted text)."""
        if self.reason is None or self.reason.outcome is not Outcome.ANSWER:
            return []
        return self.reason.texts()


@dataclass(frozen=True)
class BlocklistSweep:
    """One subject (an IP address or a domain) looked up on a set of lists."""

    subject: str
    kind: ListKind
    zones: tuple[ZoneAnswer, ...]


def query_name(subject: str, zone: str, kind: ListKind) -> str:
    """The name to ask: the reversed address (dotted octets or IPv6 nibbles) or the domain,
    followed by the zone."""
    zone = zone.rstrip(".")
    if kind is ListKind.DOMAIN:
        return f"{subject.rstrip('.')}.{zone}"
    address = ipaddress.ip_address(subject)
    if address.version == 4:
        return ".".join(reversed(str(address).split("."))) + f".{zone}"
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + f".{zone}"


async def blocklist_sweep(
    dns: DnsClient, subject: str, zones: Sequence[str], kind: ListKind = ListKind.IP,
    test_entries: Mapping[str, str] | None = None,
) -> BlocklistSweep:
    """Ask every zone about ``subject`` at once (with each zone's self-test) and collect the answers.

    ``test_entries`` gives a zone's own must-be-listed test entry where it differs from RFC
    5782's (some domain lists use their own test domain). Raises ``ValueError`` for an IP list
    and a subject that is not an IP address.
    """
    if kind is ListKind.IP:
        ipaddress.ip_address(subject)
    entries = test_entries or {}
    zones = list(zones)
    # Round one, all at once: the subject on every list and every list's must-be-listed entry. The
    # subject's questions go first, so that when the diagnosis bounds the queries in flight they
    # leave in the first wave.
    asked = await asyncio.gather(
        *(dns.query(query_name(subject, zone, kind), "A") for zone in zones),
        *(dns.query(query_name(entries.get(zone, SELF_TEST_LISTED[kind]), zone, kind), "A")
          for zone in zones))
    count = len(zones)
    queries, listed = asked[:count], asked[count:]
    # Round two, only for the lists that list the subject: their reason (TXT), and whether they list
    # the entry nobody may list (a dead list, or a resolver that rewrites "no such name", lists all).
    hits = [i for i, query in enumerate(queries) if query.outcome is Outcome.ANSWER]
    second = await asyncio.gather(
        *(dns.query(query_name(subject, zones[i], kind), "TXT") for i in hits),
        *(dns.query(query_name(SELF_TEST_CLEAN[kind], zones[i], kind), "A") for i in hits))
    reason_of: dict[int, Lookup] = dict(zip(hits, second[:len(hits)], strict=True))
    clean_of: dict[int, Lookup] = dict(zip(hits, second[len(hits):], strict=True))
    answers = tuple(ZoneAnswer(zone, queries[i], reason_of.get(i), listed[i], clean_of.get(i))
                    for i, zone in enumerate(zones))
    return BlocklistSweep(subject, kind, answers)
