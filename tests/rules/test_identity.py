"""The sender's identity on what the lab answered: its address, reverse DNS and HELO name."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.rules.identity import judge_helo, judge_ip, judge_rdns, judge_sender_domain
from mxwizard.probes.helo import HeloFacts
from mxwizard.probes.mx import MailRoute, MxFacts
from mxwizard.probes.public_ip import PublicIp
from rules.conftest import facts_with, mx_host, recorded, reverse


def test_confirmed_reverse_dns_passes() -> None:
    found = reverse(recorded("healthy-sender"), "127.0.1.10")
    [ok] = judge_rdns(facts_with(), found)
    assert (ok.id, ok.status) == ("rdns.ok", Status.PASS)
    assert ok.title == "127.0.1.10 has reverse DNS mail.home.test, confirmed"


def test_no_ptr_fails_on_the_senders_side_and_the_fix_goes_to_the_owner_of_the_address() -> None:
    found = reverse(recorded("sender-no-ptr"), "127.0.1.11")
    [missing] = judge_rdns(facts_with(), found)
    assert (missing.id, missing.status, missing.side) == ("rdns.missing", Status.FAIL, Side.YOU)
    assert "450 4.7.25 Client host rejected: cannot find your hostname" in missing.detail
    assert "ask your ISP or hosting provider" in missing.fix and "PTR of 127.0.1.11" in missing.fix


def test_a_ptr_name_that_points_elsewhere_fails_and_the_fix_names_the_a_record() -> None:
    found = reverse(recorded("ptr-not-confirmed"), "127.0.1.12")
    [fail] = judge_rdns(facts_with(), found)
    assert (fail.id, fail.status, fail.side) == ("rdns.fcrdns-fail", Status.FAIL, Side.YOU)
    assert "mail.noconfirm.test resolves to 127.0.1.99" in fail.detail
    assert fail.fix.startswith("Add an A record mail.noconfirm.test. IN A 127.0.1.12")


def test_a_generic_ptr_name_looks_like_a_home_connection() -> None:
    found = reverse(recorded("generic-ptr"), "127.0.1.13")
    [generic] = judge_rdns(facts_with(), found)
    assert (generic.id, generic.status, generic.side) == ("rdns.generic", Status.WARN, Side.YOU)
    assert "it contains the IP address's digits" in generic.detail


def test_helo_localhost_fails_and_the_advice_is_the_confirmed_ptr_name() -> None:
    rec = recorded("helo-localhost")
    facts = facts_with(ip=PublicIp("127.0.1.10"), rdns=reverse(rec, "127.0.1.10"))
    [internal] = judge_helo(facts, HeloFacts("localhost", assumed=False), "home.test")
    assert (internal.id, internal.status, internal.side) == ("helo.internal", Status.FAIL, Side.YOU)
    assert internal.fix.startswith("Set the HELO name to mail.home.test, a public name")
    assert "myhostname = mail.home.test" in internal.fix


def test_a_helo_name_that_resolves_to_the_sender_passes() -> None:
    rec = recorded("healthy-sender")
    facts = facts_with(ip=PublicIp("127.0.1.10"), rdns=reverse(rec, "127.0.1.10"))
    helo = HeloFacts("mail.home.test", False, (rec("mail.home.test", "A"), rec("mail.home.test", "AAAA")))
    [ok] = judge_helo(facts, helo, "home.test")
    assert (ok.id, ok.status) == ("helo.ok", Status.PASS)


def test_a_private_address_given_with_ip_is_behind_nat_and_the_fix_names_the_public_one() -> None:
    # the lab's whoami name saw 127.0.1.10, an address of the lab's internet (public there)
    [nat] = judge_ip(facts_with(), PublicIp("192.168.1.20", "127.0.1.10", "the lab's whoami name"))
    assert (nat.id, nat.status, nat.side) == ("ip.private", Status.INFO, Side.YOU)
    assert nat.fix.startswith("Run the check with your public address: --ip 127.0.1.10.")
    [ok] = judge_ip(facts_with(), PublicIp("127.0.1.10"))
    assert (ok.id, ok.status) == ("ip.ok", Status.PASS)


def test_a_sender_domain_whose_mx_works_is_fine() -> None:
    rec = recorded("healthy-sender")
    route = MailRoute(MxFacts("home.test", rec("home.test", "MX")),
                      [mx_host(rec, 10, "mx.home.test", with_reverse=False)])
    found = judge_sender_domain(facts_with(), route)
    assert [(f.id, f.status) for f in found] == [("sender-domain.ok", Status.PASS)]
