"""pyspf's own RFC 7208 test suite, run through mxwizard's pyspf DNS hook and a real DNS server.

The suite (tests/data/rfc7208-tests.yml, from pyspf's source distribution, with its licence; the
.json file next to it is the same data converted once, so the tests need no YAML parser) gives,
per scenario, zone data and the SPF result each (IP, MAIL FROM, HELO) must get. Here the zone
data is served by the lab's DNS server on loopback and every query pyspf makes goes through
:func:`mxwizard.probes.spf.check_spf`'s hook and the diagnosis's DnsClient, so the test proves
that the hook hands pyspf the same answers its own resolver would.

"TIMEOUT" in the zone data means "the server never answers"; a small server subclass drops
those queries, and the client's short timeout turns them into temperror, as on the internet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.zone
import pytest

from mxwizard.lab.dns_server import LabDnsServer
from mxwizard.probes.dns import DnsClient
from mxwizard.probes.spf import check_spf

SUITE = Path(__file__).parent / "data" / "rfc7208-tests.json"
#: Query types pyspf may ask for; a TIMEOUT entry silences the ones not answered before it.
QTYPES = ("A", "AAAA", "MX", "PTR", "TXT", "SPF", "CNAME")


class SilentForSomeNames(LabDnsServer):
    """The lab DNS server, except that it never answers the (name, type) pairs in ``silent``."""

    silent: set[tuple[dns.name.Name, int]] = set()  # noqa: RUF012 - replaced per scenario

    def _respond_to(self, query: dns.message.Message, client_ip: str,
                    over_tcp: bool) -> tuple[bytes, float] | None:
        question = query.question[0]
        if (question.name, question.rdtype) in self.silent:
            return None
        return super()._respond_to(query, client_ip, over_tcp)


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    if rdtype in {"TXT", "SPF"}:
        strings = [value] if isinstance(value, str) else list(value)
        raw = [s.encode("utf-8") for s in strings]
        pieces = [b[i:i + 255] for b in raw for i in range(0, max(len(b), 1), 255)]
        kind = dns.rdatatype.from_text(rdtype)
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, kind, pieces)
    if rdtype == "MX":
        preference, exchange = value
        return dns.rdtypes.ANY.MX.MX(dns.rdataclass.IN, dns.rdatatype.MX, preference,
                                     dns.name.from_text(exchange))
    if rdtype in {"PTR", "CNAME"}:
        cls = dns.rdtypes.ANY.PTR.PTR if rdtype == "PTR" else dns.rdtypes.ANY.CNAME.CNAME
        return cls(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), dns.name.from_text(value))
    return dns.rdata.from_text("IN", rdtype, value)


def build_zone(zonedata: dict[str, list[Any]]) -> tuple[dns.zone.Zone, set[tuple[dns.name.Name, int]]]:
    """The scenario's zone data as one root zone, and the (name, type) pairs that must time out.

    Like pyspf's own driver: SPF-type records are also served as TXT unless the name has TXT
    records of its own ("TXT: NONE" says it has none), and a TIMEOUT entry makes every type
    that has no record before it time out.
    """
    zone = dns.zone.Zone(dns.name.root)
    soa = dns.rdata.from_text("IN", "SOA", "ns. hostmaster. 1 3600 600 86400 300")
    zone.replace_rdataset(dns.name.root, dns.rdataset.from_rdata(300, soa))
    silent: set[tuple[dns.name.Name, int]] = set()
    for owner_text, entries in zonedata.items():
        owner = dns.name.from_text(owner_text)
        records: dict[str, list[Any]] = {}
        answered: set[str] = set()
        for entry in entries:
            if entry == "TIMEOUT":
                silent |= {(owner, dns.rdatatype.from_text(t)) for t in QTYPES if t not in answered}
                break
            ((rdtype, value),) = entry.items()
            if value != "NONE":
                answered.add(rdtype)
            records.setdefault(rdtype, []).append(value)
        if "TXT" not in records and "SPF" in records:
            records["TXT"] = list(records["SPF"])
        node = zone.find_node(owner, create=True)
        for rdtype, values in records.items():
            rdatas = [_rdata(rdtype, v) for v in values if v not in ("NONE", [])]
            if rdatas:
                node.replace_rdataset(dns.rdataset.from_rdata_list(300, rdatas))
    return zone, silent


def _cases() -> list[Any]:
    out = []
    for scenario in json.loads(SUITE.read_text(encoding="utf-8")):
        for name, case in sorted(scenario["tests"].items()):
            out.append(pytest.param(scenario["zonedata"], case, id=name))
    return out


CASES = _cases()


def test_the_whole_suite_is_here() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize(("zonedata", "case"), CASES)
async def test_rfc7208_case_agrees(zonedata: dict[str, Any], case: dict[str, Any]) -> None:
    zone, silent = build_zone(zonedata)
    server = SilentForSomeNames([zone])
    await server.start("127.0.0.1", 0)
    server.silent = silent
    try:
        assert server.port is not None
        client = DnsClient([("127.0.0.1", server.port)], timeout=0.4)
        verdict = await check_spf(client, case["host"], case["mailfrom"], case["helo"],
                                  time_limit=20)
    finally:
        await server.close()
    expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
    assert verdict.result in expected, (case.get("description"), verdict)
