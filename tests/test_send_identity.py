"""The sender's identity: public IP (given, detected, behind NAT), reverse DNS, HELO, sender domain
and the consistency table, run through the CLI and the plan against the lab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mxwizard.core.inputs import parse_address
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans.send import plan
from mxwizard.diagnosis.rules.identity import looks_generic
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.dns_server import Fault, LabDnsServer
from mxwizard.lab.internet import LAB_NETWORK, WHOAMI_NAME
from mxwizard.lab.world import World, lab_zones
from mxwizard.probes.dns import Lookup
from mxwizard.probes.public_ip import Scope, address_scope, detect_by_name

CheckJson = Callable[[list[str]], tuple[int, Any]]


def _send(check_json: CheckJson, sender: str, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code, report = check_json(["check", "send", "--from", sender, "--to", "bob@strict.test",
                               *extra, "--lab"])
    return code, {f["id"]: f for f in report["findings"]}


def test_healthy_sender_has_nothing_wrong(check_json: CheckJson) -> None:
    code, found = _send(check_json, "alice@home.test", "--ip", "127.0.1.10", "--helo",
                        "mail.home.test", "--source-ip", "127.0.1.10", "--dkim-selector", "mail")
    statuses = {f["status"] for f in found.values()}
    assert "fail" not in statuses and "error" not in statuses and code == 0
    for expected in ("ip.ok", "rdns.ok", "helo.ok", "sender-domain.ok", "dnsbl.ok", "spf.pass",
                     "dkim.ok", "dmarc.ok", "identity.table"):
        assert expected in found, expected
    table = found["identity.table"]["evidence"]
    assert table and all(line.startswith("✔") for line in table)


def test_the_lab_gives_its_policy_not_a_lab_switch(lab: World) -> None:
    settings = lab.point(Settings())
    assert settings.whoami_name == WHOAMI_NAME and settings.own_networks == (LAB_NETWORK,)


async def test_detects_the_address_the_lab_sees(lab: World) -> None:
    found = await detect_by_name([(lab.dns_addr, lab.dns_port)], WHOAMI_NAME, "127.0.1.11",
                                 timeout=3)
    assert found.detected == "127.0.1.11" and found.address == "127.0.1.11"
    assert found.lookups[0].qname == WHOAMI_NAME


def test_without_ip_the_address_is_detected(check_json: CheckJson) -> None:
    _code, found = _send(check_json, "alice@nordns.test", "--source-ip", "127.0.1.11",
                         "--helo", "mail.nordns.test")
    assert "detected" in found["ip.ok"]["detail"]
    assert "127.0.1.11" in found["ip.ok"]["title"]
    assert "rdns.missing" in found
    assert "450 4.7.25" in found["rdns.missing"]["detail"]


def test_private_address_is_explained_and_the_public_one_used(check_json: CheckJson) -> None:
    _code, found = _send(check_json, "alice@home.test", "--ip", "192.168.1.20", "--helo",
                         "mail.home.test")
    private = found["ip.private"]
    # a LAN address behind NAT is a fact, not a fault, once the public address is known
    assert private["status"] == "info" and "NAT" in private["title"]
    assert "127.0.1.10" in private["detail"] and "--ip 127.0.1.10" in private["fix"]
    assert "rdns.ok" in found  # the later checks ran against the detected public address


def test_a_private_address_on_a_private_network_is_judged_as_it_is(check_json: CheckJson) -> None:
    """--private-network: the intranet relay's own address is no fault, every check runs on it."""
    code, report = check_json(["check", "send", "--from", "alice@intranet.test", "--to",
                               "bob@intranet.test", "--ip", "192.168.1.20", "--helo",
                               "relay.intranet.test", "--private-network", "--lab"])
    found = {f["id"]: f for f in report["findings"]}
    assert "ip.private" not in found and "192.168.1.20" in found["ip.ok"]["title"]
    for checked in ("rdns.ok", "helo.ok", "dnsbl.ok", "spf.pass", "delivery.accepted"):
        assert checked in found, (checked, sorted(found))
    assert code == 0


def test_carrier_grade_nat_is_named(check_json: CheckJson) -> None:
    _code, found = _send(check_json, "alice@home.test", "--ip", "100.64.3.4", "--helo",
                         "mail.home.test")
    assert "carrier-grade" in found["ip.private"]["title"]
    assert "smarthost" in found["ip.private"]["fix"]


def test_address_scopes() -> None:
    assert address_scope("192.168.1.20") is Scope.PRIVATE
    assert address_scope("100.64.0.1") is Scope.SHARED
    assert address_scope("127.0.1.10") is Scope.LOOPBACK
    assert address_scope("127.0.1.10", (LAB_NETWORK,)) is Scope.PUBLIC
    assert address_scope("192.168.1.20", (LAB_NETWORK,)) is Scope.PRIVATE
    assert address_scope("fd12::1") is Scope.PRIVATE
    assert address_scope("8.8.8.8") is Scope.PUBLIC
    assert address_scope("192.0.2.1") is Scope.RESERVED


@pytest.mark.parametrize(("name", "ip", "generic"), [
    ("127-0-1-13.dyn.isp.test", "127.0.1.13", True),
    ("host-203-0-113-9.example.net", "203.0.113.9", True),
    ("9.113.0.203.in-addr.static.example.net", "203.0.113.9", True),
    ("cpe-203-0-113-9.cable.example.com", "203.0.113.9", True),
    ("dsl-pool.example.de", "203.0.113.9", True),
    ("ppp-24.customer.example.org", "203.0.113.9", True),
    ("mail.home.test", "127.0.1.10", False),
    ("mx1.example.co.uk", "203.0.113.9", False),
    ("smtp-out.example.com", "203.0.113.9", False),
    ("example.com", "203.0.113.9", False),
])
def test_generic_names(name: str, ip: str, generic: bool) -> None:
    assert bool(looks_generic(name, ip)) is generic


@pytest.mark.parametrize(("helo", "expected"), [
    ("mailserver", "helo.not-fqdn"),
    ("localhost", "helo.internal"),
    ("mail.lan", "helo.internal"),
    ("server.local", "helo.internal"),
    ("[192.168.1.5]", "helo.internal"),
    ("[127.0.1.10]", "helo.literal"),
    ("nothing.home.test", "helo.unresolvable"),
    ("mx.home.test", "helo.mismatch"),
    ("mail.home.test", "helo.ok"),
])
def test_helo_names(check_json: CheckJson, helo: str, expected: str) -> None:
    _code, found = _send(check_json, "alice@home.test", "--ip", "127.0.1.10", "--helo", helo)
    helo_findings = [i for i in found if i.startswith("helo.")]
    assert helo_findings == [expected]
    if expected != "helo.ok":
        fix = found[expected]["fix"]
        assert "myhostname" in fix and "primary_hostname" in fix and "hMailServer" in fix
        assert "mail.home.test" in fix  # the confirmed PTR name is the advice


def test_helo_defaults_to_the_ptr_name(check_json: CheckJson) -> None:
    _code, found = _send(check_json, "alice@home.test", "--ip", "127.0.1.10")
    assert "assumed" in found["helo.ok"]["detail"]


@pytest.mark.parametrize(("sender", "expected"), [
    ("alice@doesnotexist.test", "sender-domain.nxdomain"),
    ("alice@nowhere.test", "sender-domain.no-mx"),
    ("alice@nullmx.test", "sender-domain.no-mx"),
    ("alice@nomx.test", "sender-domain.ok"),
])
def test_sender_domain(check_json: CheckJson, sender: str, expected: str) -> None:
    _code, found = _send(check_json, sender, "--ip", "127.0.1.10", "--helo", "mail.home.test")
    assert [i for i in found if i.startswith("sender-domain.")] == [expected]


async def test_identity_table_names_the_rejection(lab: World) -> None:
    settings = lab.point(Settings(timeout=3))
    diagnosis = await diagnose(plan(parse_address("alice@nordns.test"), parse_address("bob@strict.test"),
                                    ip="127.0.1.11", helo="mail.nordns.test"), settings)
    table = next(f for f in diagnosis.findings if f.id == "identity.table")
    rows = "\n".join(table.evidence)
    assert "✖ PTR name" in rows and "550-5.7.25" in rows
    assert "✔ Sender domain" in rows


async def test_steps_after_the_ip_overlap(lab: World) -> None:
    """rDNS, blocklists and SPF start together once the IP is known (their first lookups overlap)."""
    settings = lab.point(Settings(timeout=3))
    lab.dns_server.latency = 0.1
    try:
        diagnosis = await diagnose(plan(parse_address("alice@home.test"), parse_address("bob@strict.test"),
                                        ip="127.0.1.10", helo="mail.home.test"), settings)
    finally:
        lab.dns_server.latency = 0
    first: dict[str, Lookup] = {}
    for lookup in diagnosis.lookups:
        kind = ("rdns" if lookup.qtype == "PTR" else "dnsbl" if "dnsbl" in lookup.qname
                else "spf" if lookup.qtype == "TXT" and lookup.qname == "home.test" else "")
        if kind and kind not in first:
            first[kind] = lookup
    assert set(first) == {"rdns", "dnsbl", "spf"}
    last_start = max(lk.t_ms for lk in first.values())
    first_end = min(lk.t_ms + lk.ms for lk in first.values())
    assert last_start < first_end


async def test_undetectable_address_asks_for_ip() -> None:
    """The whoami name fails: ip.unknown says how to find the address, the IP steps are skipped."""
    server = LabDnsServer(lab_zones(), faults={WHOAMI_NAME: (Fault.SERVFAIL, 0)},
                          whoami_name=WHOAMI_NAME)
    port = await server.start("127.0.0.1", 0)
    try:
        settings = Settings(resolver=("127.0.0.1", port), timeout=3, own_networks=(LAB_NETWORK,),
                            whoami_name=WHOAMI_NAME, dnsbl_zones=("dnsbl.lab.test",))
        diagnosis = await diagnose(plan(parse_address("alice@home.test"),
                                        parse_address("bob@strict.test")), settings)
    finally:
        await server.close()
    ids = [f.id for f in diagnosis.findings]
    assert "ip.unknown" in ids and diagnosis.exit_status == 3
    assert "--ip" in next(f for f in diagnosis.findings if f.id == "ip.unknown").fix
    assert not {"rdns.ok", "dnsbl.ok", "spf.pass"} & set(ids)
    assert "sender-domain.ok" in ids and "dmarc.policy" in ids  # what needs no IP still ran
    # ...and what could not run says so, with why: never silence
    assert {"rdns.not-checked", "dnsbl.not-checked", "spf.not-evaluated"} <= set(ids)
    skipped = next(f for f in diagnosis.findings if f.id == "dnsbl.not-checked")
    assert "public address is not known" in skipped.detail
    assert "spf.record-ok" in ids  # the record itself is still linted
