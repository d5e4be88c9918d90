"""Blocklists: one round trip for many lists, listings decoded per list, refusals and broken
zones told apart from listings. Every zone here is served by a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import dns.zone

from mxwizard.core.findings import Finding, Status
from mxwizard.diagnosis.rules.blocklists import judge_sweep
from mxwizard.knowledge.blocklists import DEFAULT_IP_LISTS, ZEN, ListKind, blocklist, is_refusal
from mxwizard.lab.dns_server import LabDnsServer
from mxwizard.probes.blocklists import blocklist_sweep, query_name
from mxwizard.probes.dns import DnsClient, Lookup

SENDER_IP = "192.0.2.25"
LISTED = "25.2.0.192"  # the reversed sender address, as it appears under a zone
SELF_TEST = ["2.0.0.127 A 127.0.0.2"]


def _zone(origin: str, records: Iterable[str]) -> dns.zone.Zone:
    head = [f"$ORIGIN {origin}.", "$TTL 60", "@ SOA ns.lab.test. hostmaster.lab.test. 1 60 60 60 60",
            "@ NS ns.lab.test."]
    return dns.zone.from_text("\n".join([*head, *records]) + "\n", origin=f"{origin}.",
                              relativize=False)


@asynccontextmanager
async def serving(zones: dict[str, list[str]], latency_ms: float = 0
                  ) -> AsyncIterator[tuple[DnsClient, list[Lookup]]]:
    """A lab DNS server with ``zones``, and a DNS client that records every lookup."""
    server = LabDnsServer([_zone(origin, records) for origin, records in zones.items()],
                          latency_ms=latency_ms)
    port = await server.start("127.0.0.1", 0)
    seen: list[Lookup] = []
    try:
        yield DnsClient([("127.0.0.1", port)], timeout=5.0, on_lookup=seen.append), seen
    finally:
        await server.close()


def _ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def test_query_names_reverse_the_address() -> None:
    assert query_name("192.0.2.25", "zen.spamhaus.org", ListKind.IP) == "25.2.0.192.zen.spamhaus.org"
    v6 = query_name("2001:db8::1", "bl.example", ListKind.IP)
    assert v6.startswith("1.0.0.0.") and v6.endswith(".8.b.d.0.1.0.0.2.bl.example")
    assert query_name("example.com", "dbl.spamhaus.org", ListKind.DOMAIN) == "example.com.dbl.spamhaus.org"


def test_default_set_is_current() -> None:
    zones = {b.zone for b in DEFAULT_IP_LISTS}
    assert "zen.spamhaus.org" in zones and len(zones) >= 6
    assert not any("sorbs" in z or "njabl" in z or "ahbl" in z for z in zones)
    assert ZEN.decode("127.0.0.4").label == "XBL" and ZEN.decode("127.0.0.11").label == "PBL"
    assert ZEN.decode("127.0.0.2").cause != ZEN.decode("127.0.0.10").cause
    assert is_refusal(ZEN, "127.255.255.254") and not is_refusal(ZEN, "127.0.0.2")


async def test_thirty_zones_cost_one_round_trip() -> None:
    """The 30 listing questions are all in flight together (their intervals overlap)."""
    zones = {f"bl{i}.test": SELF_TEST for i in range(30)}
    async with serving(zones, latency_ms=100) as (client, seen):
        sweep = await blocklist_sweep(client, SENDER_IP, sorted(zones))
    real = [lk for lk in seen if lk.qname.startswith(LISTED)]
    assert len(real) == 30 and len(sweep.zones) == 30
    last_start = max(lk.t_ms for lk in real)
    first_end = min(lk.t_ms + lk.ms for lk in real)
    assert last_start < first_end, "some blocklist query waited for another one to finish"
    span = max(lk.t_ms + lk.ms for lk in seen) - min(lk.t_ms for lk in seen)
    assert span < 30 * 100 / 2  # thirty sequential round trips would take 3000 ms
    assert all(lk.ms >= 90 for lk in real)  # the latency really applied


async def test_zen_listing_is_decoded_with_reason_and_first_fix() -> None:
    zones = {"zen.spamhaus.org": [*SELF_TEST, f"{LISTED} A 127.0.0.4",
                                  f'{LISTED} TXT "https://check.spamhaus.org/query/ip/192.0.2.25"']}
    async with serving(zones) as (client, _seen):
        sweep = await blocklist_sweep(client, SENDER_IP, ["zen.spamhaus.org"])
    findings = judge_sweep(sweep, default_set=True)
    assert _ids(findings) == ["dnsbl.listed"]
    listed = findings[0]
    assert listed.status is Status.FAIL and "XBL" in listed.title
    assert "infected" in listed.fix and "check.spamhaus.org" in listed.fix
    assert "check.spamhaus.org/query" in listed.detail  # the list's own TXT reason


async def test_pbl_listing_says_use_the_isp_relay() -> None:
    zones = {"zen.spamhaus.org": [*SELF_TEST, f"{LISTED} A 127.0.0.11"]}
    async with serving(zones) as (client, _seen):
        findings = judge_sweep(await blocklist_sweep(client, SENDER_IP, ["zen.spamhaus.org"]), True)
    assert _ids(findings) == ["dnsbl.listed"]
    assert "PBL" in findings[0].title and "relay" in findings[0].fix


async def test_resolver_refusal_is_not_a_listing() -> None:
    zones = {"zen.spamhaus.org": ["2.0.0.127 A 127.255.255.254", f"{LISTED} A 127.255.255.254"],
             "clean.test": SELF_TEST}
    async with serving(zones) as (client, _seen):
        findings = judge_sweep(
            await blocklist_sweep(client, SENDER_IP, ["zen.spamhaus.org", "clean.test"]), True)
    assert "dnsbl.listed" not in _ids(findings)
    assert set(_ids(findings)) == {"dnsbl.ok", "dnsbl.resolver-refused"}
    refused = next(f for f in findings if f.id == "dnsbl.resolver-refused")
    assert "resolver" in refused.fix


async def test_zone_that_lists_everything_fails_its_self_test() -> None:
    everything = ["2.0.0.127 A 127.0.0.2", "1.0.0.127 A 127.0.0.2", f"{LISTED} A 127.0.0.2"]
    zones = {"world.test": everything, "dead.test": []}
    async with serving(zones) as (client, _seen):
        findings = judge_sweep(
            await blocklist_sweep(client, SENDER_IP, ["world.test", "dead.test"]), False)
    assert _ids(findings) == ["dnsbl.zone-broken", "dnsbl.zone-broken"]
    world, dead = findings
    assert "world.test" in world.title and "answers everything" in world.detail
    assert "dead.test" in dead.title and "test entry is not listed" in dead.detail


async def test_unanswered_lists_are_reported_not_guessed() -> None:
    async with serving({"clean.test": SELF_TEST}) as (client, _seen):
        findings = judge_sweep(
            await blocklist_sweep(client, SENDER_IP, ["clean.test", "not-served.example"]), False)
    assert set(_ids(findings)) == {"dnsbl.ok", "dnsbl.unanswered"}
    assert next(f for f in findings if f.id == "dnsbl.unanswered").status is Status.INFO


async def test_domain_list_uses_its_own_test_entry() -> None:
    zones = {"dbl.spamhaus.org": ["dbltest.com A 127.0.1.2", "spammy.example A 127.0.1.2"]}
    dbl = blocklist("dbl.spamhaus.org")
    async with serving(zones) as (client, _seen):
        sweep = await blocklist_sweep(client, "spammy.example", [dbl.zone], ListKind.DOMAIN,
                                      {dbl.zone: dbl.test_entry})
    findings = judge_sweep(sweep, True)
    assert _ids(findings) == ["dnsbl.domain-listed"]
    assert "spam" in findings[0].title


def test_lab_listing_through_the_cli(check_json: Callable[[list[str]], tuple[int, Any]]) -> None:
    code, report = check_json(["check", "send", "--from", "alice@listed.test", "--to",
                               "bob@strict.test", "--ip", "127.0.1.14", "--helo",
                               "mail.listed.test", "--lab"])
    listed = [f for f in report["findings"] if f["id"] == "dnsbl.listed"]
    assert code == 1 and len(listed) == 1
    assert "lab traps" in listed[0]["detail"]
