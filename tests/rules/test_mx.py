"""The MX rules on what the lab's DNS answered: where mail for a domain goes, and each MX host."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.rules.mx import judge_hosts, judge_mx
from mxwizard.probes.mx import MxFacts, MxHost
from rules.conftest import LAB, facts_with, mx_host, recorded


def test_a_healthy_domain_has_its_two_mx_records_and_confirmed_reverse_dns() -> None:
    rec = recorded("healthy-domain")
    mx = MxFacts("healthy.test", rec("healthy.test", "MX"))
    [ok] = judge_mx(facts_with(mx=mx), mx)
    assert (ok.id, ok.status) == ("mx.ok", Status.PASS)
    assert ok.detail == "Mail goes to mx1.healthy.test (preference 10), mx2.healthy.test (preference 20)."
    hosts = [mx_host(rec, 10, "mx1.healthy.test"), mx_host(rec, 20, "mx2.healthy.test")]
    found = judge_hosts(facts_with(mx=mx, mx_hosts=hosts), hosts)
    assert [f.id for f in found] == ["mx.host-ok", "mx.rdns-ok", "mx.host-ok", "mx.rdns-ok"]
    assert found[1].title == "Reverse DNS of 127.0.2.1 is mx1.healthy.test"


def test_an_mx_naming_an_ip_address_fails_and_the_fix_is_a_name_with_an_a_record() -> None:
    mx = MxFacts("iplit.test", recorded("mx-ip-literal")("iplit.test", "MX"))
    assert [f.id for f in judge_mx(facts_with(mx=mx), mx)] == ["mx.ok", "mx.single"]
    host = MxHost(10, "127.0.2.1")  # the probe looks no address up for a literal
    [literal] = judge_hosts(facts_with(mx=mx), [host])
    assert (literal.id, literal.status, literal.side) == ("mx.ip-literal", Status.FAIL, Side.YOU)
    assert literal.fix.splitlines()[1:3] == ["  iplit.test. 3600 IN MX 10 mail.iplit.test.",
                                             "  mail.iplit.test. 3600 IN A 127.0.2.1"]


def test_a_null_mx_says_the_domain_takes_no_mail() -> None:
    mx = MxFacts("nullmx.test", recorded("null-mx")("nullmx.test", "MX"))
    [null] = judge_mx(facts_with(mx=mx), mx)
    assert (null.id, null.status, null.side) == ("mx.null", Status.FAIL, Side.YOU)
    assert "  nullmx.test. 3600 IN MX 10 mail.nullmx.test." in null.fix
    assert null.evidence == ("nullmx.test. 300 IN MX 0 .",)


def test_without_mx_senders_use_the_address_and_the_fix_publishes_that_address() -> None:
    rec = recorded("no-mx-a-fallback")
    mx = MxFacts("nomx.test", rec("nomx.test", "MX"), (rec("nomx.test", "A"), rec("nomx.test", "AAAA")))
    [none] = judge_mx(facts_with(mx=mx), mx)
    assert (none.id, none.status, none.side) == ("mx.none", Status.WARN, Side.YOU)
    assert none.fix == ("  nomx.test. 3600 IN MX 10 mail.nomx.test.\n"
                        "  mail.nomx.test. 3600 IN A 127.0.2.3")


def test_a_dangling_mx_alone_is_a_failure_and_an_alias_a_warning() -> None:
    dangling = recorded("mx-dangling")
    mx = MxFacts("dangling.test", dangling("dangling.test", "MX"))
    [missing] = judge_hosts(facts_with(mx=mx), [mx_host(dangling, 10, "mail.dangling.test")])
    assert (missing.id, missing.status) == ("mx.dangling", Status.FAIL)
    assert "(it does not exist)" in missing.detail and "mail.dangling.test. 3600 IN A" in missing.fix

    cname = recorded("mx-cname")
    mx = MxFacts("cnamemx.test", cname("cnamemx.test", "MX"))
    found = judge_hosts(facts_with(mx=mx), [mx_host(cname, 10, "mail.cnamemx.test")])
    assert [f.id for f in found] == ["mx.cname", "mx.host-ok", "mx.rdns-ok"]
    assert found[0].status is Status.WARN
    assert found[0].fix.endswith("cnamemx.test. 3600 IN MX 10 mx1.healthy.test.")


def test_a_private_mx_address_is_no_fault_on_the_users_own_network() -> None:
    rec = recorded("healthy-domain")
    mx = MxFacts("healthy.test", rec("healthy.test", "MX"))
    host = mx_host(rec, 10, "mx1.healthy.test", with_reverse=False)
    assert [f.id for f in judge_hosts(facts_with(mx=mx), [host])] == ["mx.host-ok"]
    internet = facts_with(LAB.with_changes(own_networks=()), mx=mx)
    [private] = judge_hosts(internet, [host])
    assert (private.id, private.side) == ("mx.private-address", Side.YOU)
    assert "  mx1.healthy.test. 3600 IN A 203.0.113.5" in private.fix and "--private-network" in private.fix


def test_the_only_mx_host_on_a_private_address_fails() -> None:
    rec = recorded("healthy-domain")
    mx = MxFacts("healthy.test", rec("healthy.test", "MX"))
    host = mx_host(rec, 10, "mx1.healthy.test", with_reverse=False)
    [private] = judge_hosts(facts_with(LAB.with_changes(own_networks=()), mx=mx), [host])
    assert private.status is Status.FAIL  # no sender on the internet can deliver to it
