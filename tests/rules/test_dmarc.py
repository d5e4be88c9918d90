"""The DMARC rules on the lab's records: the policy in force, and whether this send passes it."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.facts import SpfFacts
from mxwizard.diagnosis.rules.dmarc import judge_alignment, judge_dmarc_record
from mxwizard.probes.dmarc import DmarcFacts, parse_dmarc
from mxwizard.probes.dns import Lookup
from mxwizard.probes.spf import SpfNode, SpfVerdict
from rules.conftest import facts_with, recorded


def _dmarc(domain: str, lookup: Lookup) -> DmarcFacts:
    texts = lookup.texts()
    record = parse_dmarc(texts[0]) if texts else None
    return DmarcFacts(domain, domain, (lookup,), record, domain if record else "")


def test_p_reject_with_spf_failing_for_the_from_domain_fails_dmarc() -> None:
    rec = recorded("dmarc-reject-unaligned")
    dmarc = _dmarc("dmarcfail.test", rec("_dmarc.dmarcfail.test", "TXT"))
    [policy] = judge_dmarc_record(facts_with(), dmarc)
    assert (policy.id, policy.status, policy.title) == (
        "dmarc.policy", Status.PASS, "DMARC for dmarcfail.test: p=reject")
    verdict = SpfVerdict("mailfrom", "dmarcfail.test", "127.0.1.10", "fail", "SPF fail - not authorized",
                         lookups=0, void_lookups=0, mechanism="-all")
    spf = SpfFacts("127.0.1.10", verdict, SpfNode("dmarcfail.test", "", rec("dmarcfail.test", "TXT")))
    [unaligned] = judge_alignment(facts_with(dmarc=dmarc, spf=spf), "dmarcfail.test")
    assert (unaligned.id, unaligned.status, unaligned.side) == ("dmarc.unaligned", Status.FAIL, Side.YOU)
    assert "so receivers will have this mail rejected" in unaligned.detail
    assert "d=dmarcfail.test" in unaligned.fix


def test_no_record_is_a_warning_with_a_monitoring_record_to_start_with() -> None:
    dmarc = _dmarc("spffail.test", recorded("spf-fail")("_dmarc.spffail.test", "TXT"))
    [none] = judge_dmarc_record(facts_with(), dmarc)
    assert (none.id, none.status, none.side) == ("dmarc.none", Status.WARN, Side.YOU)
    assert ('  _dmarc.spffail.test. 3600 IN TXT "v=DMARC1; p=none; '
            'rua=mailto:dmarc-reports@spffail.test"') in none.fix
