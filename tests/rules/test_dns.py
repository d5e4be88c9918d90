"""The DNS rules: a lookup without a usable answer, and a resolver caught lying."""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.diagnosis.rules.dns import distrust_lying_resolver, unanswered
from mxwizard.diagnosis.rules.mx import judge_mx
from mxwizard.probes.mx import MxFacts
from mxwizard.probes.resolver_health import ResolverSanity
from rules.conftest import facts_with, recorded


def test_servfail_is_an_error_of_the_domains_dns_not_a_missing_record() -> None:
    rec = recorded("dns-servfail")
    mx = MxFacts("dns-servfail.test", rec("dns-servfail.test", "MX"))
    [failed] = judge_mx(facts_with(mx=mx), mx)
    assert (failed.id, failed.status, failed.side) == ("dns.servfail", Status.ERROR, Side.YOU)
    assert failed.title == "DNS lookup of dns-servfail.test failed (SERVFAIL)"
    assert failed.evidence[0] == "dig @127.0.0.1 -p 10053 dns-servfail.test MX"
    assert unanswered(recorded("healthy-domain")("healthy.test", "MX"), "the MX records") is None


def test_a_resolver_that_denies_the_root_is_blamed_and_nothing_it_said_counts() -> None:
    rec = recorded("resolver-lies")
    sanity = ResolverSanity("127.0.8.53:10053", (rec(".", "NS"),))
    mx = MxFacts("healthy.test", rec("healthy.test", "MX"))
    facts = facts_with(mx=mx, resolver_health=sanity)
    [broken] = judge_mx(facts, mx)  # not "healthy.test does not exist"
    assert (broken.id, broken.status, broken.side) == ("dns.resolver-broken", Status.ERROR, Side.NETWORK)
    assert "--resolver 9.9.9.9" in broken.fix and "dig @127.0.8.53 -p 10053 . NS" in broken.fix
    # every other fault found through it is kept, but unconfirmed
    other = Finding("spf.none", Status.WARN, "healthy.test publishes no SPF record", side=Side.YOU)
    first, rest = distrust_lying_resolver(facts, [other])
    assert first.id == "dns.resolver-broken"
    assert (rest.status, rest.side) == (Status.INFO, Side.NONE)
    assert rest.title == "Unconfirmed: healthy.test publishes no SPF record"


def test_an_nxdomain_from_an_honest_resolver_is_believed() -> None:
    rec = recorded("domain-nxdomain")
    sanity = ResolverSanity("127.0.0.1:10053", (rec(".", "NS"),))
    mx = MxFacts("doesnotexist.test", rec("doesnotexist.test", "MX"))
    [gone] = judge_mx(facts_with(mx=mx, resolver_health=sanity), mx)
    assert (gone.id, gone.status, gone.side) == ("domain.nxdomain", Status.FAIL, Side.YOU)
