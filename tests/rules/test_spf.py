"""The SPF rules on the lab's records: the verdict, and the exact record that fixes it."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.facts import SpfFacts
from mxwizard.diagnosis.rules.spf import judge_spf
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.probes.spf import SpfNode, SpfVerdict
from mxwizard.probes.spf_record import parse_spf
from rules.conftest import facts_with, recorded


def _tree(lookup: Lookup) -> SpfNode:
    [text] = lookup.texts()
    return SpfNode(lookup.qname, "", lookup, record=parse_spf(text))


def test_a_hard_fail_names_the_record_that_adds_the_senders_address() -> None:
    lookup = recorded("spf-fail")("spffail.test", "TXT")
    verdict = SpfVerdict("mailfrom", "spffail.test", "127.0.1.10", "fail",
                         "SPF fail - not authorized", lookups=0, void_lookups=0, mechanism="-all")
    [fail] = judge_spf(facts_with(), SpfFacts("127.0.1.10", verdict, _tree(lookup)))
    assert (fail.id, fail.status, fail.side) == ("spf.fail", Status.FAIL, Side.YOU)
    assert '  spffail.test. 3600 IN TXT "v=spf1 ip4:127.0.1.10 ip4:127.0.1.200 -all"' in fail.fix
    assert "decided by: -all" in fail.evidence


def test_the_healthy_senders_address_passes() -> None:
    lookup = recorded("healthy-sender")("home.test", "TXT")
    verdict = SpfVerdict("mailfrom", "home.test", "127.0.1.10", "pass", "sender SPF authorized",
                         lookups=0, void_lookups=0, mechanism="ip4:127.0.1.10")
    [ok] = judge_spf(facts_with(), SpfFacts("127.0.1.10", verdict, _tree(lookup)))
    assert (ok.id, ok.status) == ("spf.pass", Status.PASS)
    assert ok.title == "SPF of home.test authorises 127.0.1.10"


def test_a_record_over_ten_lookups_is_broken_whatever_the_address() -> None:
    text = "v=spf1 " + " ".join(f"include:spf{i}.spflimit.test" for i in range(1, 12)) + " -all"
    strings = " ".join(f'"{text[i:i + 200]}"' for i in range(0, len(text), 200))  # as the lab serves it
    record = Record.from_zone_line(f"spflimit.test. 300 IN TXT {strings}")
    lookup = Lookup("spflimit.test", "TXT", "127.0.0.1:10053", Outcome.ANSWER, (record,))
    found = judge_spf(facts_with(), SpfFacts("", None, _tree(lookup), not_evaluated="no address was given"))
    assert [f.id for f in found] == ["spf.not-evaluated", "spf.permerror"]
    broken = found[1]
    assert (broken.status, broken.side) == (Status.FAIL, Side.YOU)
    assert "it needs 11 DNS lookups where 10 are allowed" in broken.detail
