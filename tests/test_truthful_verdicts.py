"""Truthful verdicts: nothing skipped in silence, the tester's own address never blamed on the
target, the same faults found whichever check meets them, and no finding that contradicts the
servers' replies in the same report. Each test runs the check the way a user does, in the lab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mxwizard.core.findings import Status
from mxwizard.core.inputs import parse_address
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans import send
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.internet import LAB_NETWORK
from mxwizard.lab.world import World

CheckJson = Callable[[list[str]], tuple[int, Any]]


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in report["findings"]}


def _send(check_json: CheckJson, *args: str) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    code, report = check_json(["check", "send", *args, "--lab"])
    return code, report, _by_id(report)


# --- 1. a check that cannot run is a finding; what can be judged is judged --------------------

async def _send_without_echo(lab: World, sender: str, recipient: str, ip: str,
                            source_ip: str) -> Diagnosis:
    """A send check where the public address cannot be found out, as on a network with no
    echo service in reach: the lab's DNS and mail hosts, but no whoami name."""
    settings = Settings(resolver=(lab.dns_addr, lab.dns_port), smtp_port=lab.smtp_port,
                        dnsbl_zones=(lab.dnsbl_zone,), own_networks=(LAB_NETWORK,),
                        source_ip=source_ip, timeout=3)
    return await diagnose(send.plan(parse_address(sender), parse_address(recipient), ip=ip,
                                    helo="mail.home.test"), settings)


async def test_a_private_ip_says_what_was_not_checked_and_still_lints_spf(lab: World) -> None:
    """--ip 192.168.x with no public address to be found: every address check says why it did
    not run, and the SPF record itself is still judged (11 includes: broken whatever the IP)."""
    diagnosis = await _send_without_echo(lab, "alice@spflimit.test", "bob@healthy.test",
                                         "192.168.1.20", "127.0.1.10")
    found = {f.id: f for f in diagnosis.findings}
    assert found["ip.private"].status is Status.WARN
    for step in ("rdns", "dnsbl"):
        skipped = found[f"{step}.not-checked"]
        assert skipped.status is Status.INFO and "192.168.1.20" in skipped.detail
    assert "spf.not-evaluated" in found
    broken = found["spf.permerror"]
    assert broken.status is Status.FAIL and "more than 10 DNS lookups" in broken.detail
    assert diagnosis.exit_status == 1
    steps = {f.step for f in diagnosis.findings}
    assert {"rdns", "dnsbl", "spf", "delivery"} <= steps  # no step left out in silence


async def test_a_rejection_points_only_at_checks_that_ran(lab: World) -> None:
    """The strict receiver refuses the client for its reverse DNS; the reverse DNS check could
    not run here, so the rejection must not send the reader to findings that do not exist."""
    diagnosis = await _send_without_echo(lab, "alice@home.test", "bob@strict.test", "10.1.1.1",
                                         "127.0.1.11")
    found = {f.id: f for f in diagnosis.findings}
    refusal = found.get("delivery.deferred") or found["delivery.rejected"]
    assert "rdns.ok" not in found and "rdns.missing" not in found
    assert "reverse DNS findings above" not in refusal.detail
    assert "reverse DNS could not be checked here" in refusal.detail


# --- 3. the send check finds the MX faults the receive check finds ---------------------------

def test_a_recipient_whose_mx_does_not_resolve_fails_the_send(check_json: CheckJson) -> None:
    for domain, fault in (("dangling.test", "mx.dangling"), ("iplit.test", "mx.ip-literal")):
        code, _report, found = _send(check_json, "--from", "alice@home.test", "--to",
                                     f"bob@{domain}", "--ip", "127.0.1.10", "--helo",
                                     "mail.home.test", "--source-ip", "127.0.1.10")
        assert found[fault]["status"] == "fail" and found[fault]["side"] == "them", domain
        assert "delivery.not-checked" in found and code == 1, domain


def test_a_sender_domain_whose_mx_does_not_resolve_cannot_take_replies(check_json: CheckJson) -> None:
    code, _report, found = _send(check_json, "--from", "alice@dangling.test", "--to",
                                 "bob@healthy.test", "--ip", "127.0.1.10", "--helo",
                                 "mail.home.test", "--source-ip", "127.0.1.10")
    assert "sender-domain.ok" not in found
    fault = found["sender-domain.mx.dangling"]
    assert fault["status"] == "fail" and fault["side"] == "you"
    assert "replies" in fault["detail"] and code == 1


# --- 4. the vantage point ---------------------------------------------------------------------

def test_a_refusal_of_our_test_address_is_not_the_domains_fault(check_json: CheckJson) -> None:
    """mx.strict.test refuses clients without reverse DNS and clients on its blocklist."""
    for source in ("127.0.1.11", "127.0.1.14"):  # no PTR; listed
        code, report = check_json(["check", "receive", "strict.test", "--source-ip", source,
                                   "--lab"])
        found = _by_id(report)
        refused = found["smtp.probe-refused"]
        assert refused["status"] == "warn" and refused["side"] == "network", source
        assert source in refused["title"]
        assert not [f for f in report["findings"] if f["status"] == "fail"], source
        assert code == 0, source


def test_a_relay_test_refused_for_our_address_is_untested_not_closed(check_json: CheckJson) -> None:
    code, report = check_json(["check", "relay", "mx.strict.test", "--source-ip", "127.0.1.14",
                               "--lab"])
    found = _by_id(report)
    assert "relay.closed" not in found
    assert found["relay.untested"]["side"] == "network" and code == 3
    # from a clean address the same server gives a real verdict
    code, report = check_json(["check", "relay", "mx.strict.test", "--source-ip", "127.0.1.10",
                               "--lab"])
    assert "relay.closed" in _by_id(report) and code == 0


# --- 5. reconciliation: no finding contradicts the observed replies ---------------------------

def test_a_bare_helo_accepted_by_the_recipient_is_a_warning_not_a_failure(check_json: CheckJson) -> None:
    code, _report, found = _send(check_json, "--from", "alice@home.test", "--to",
                                 "bob@healthy.test", "--ip", "127.0.1.10", "--helo", "mailhost",
                                 "--source-ip", "127.0.1.10")
    assert "delivery.accepted" in found
    helo = found["helo.not-fqdn"]
    assert helo["status"] == "warn" and "accepted" in helo["detail"]
    assert any("EHLO mailhost" in line for line in helo["evidence"])
    assert code == 0


def test_a_bare_helo_refused_by_the_recipient_stays_a_failure(check_json: CheckJson) -> None:
    code, _report, found = _send(check_json, "--from", "alice@home.test", "--to",
                                 "bob@strict.test", "--ip", "127.0.1.10", "--helo", "mailhost",
                                 "--source-ip", "127.0.1.10")
    assert found["helo.not-fqdn"]["status"] == "fail"
    assert "delivery.accepted" not in found and code == 1


def test_localhost_is_never_advised_as_a_helo_name(check_json: CheckJson) -> None:
    _code, _report, found = _send(check_json, "--from", "alice@home.test", "--to",
                                  "bob@healthy.test", "--ip", "127.0.0.1", "--helo", "mailhost",
                                  "--private-network")
    fixes = " ".join(f["fix"] for f in found.values())
    assert "to localhost" not in fixes and "Set the HELO name to mail.home.test" in fixes
    assert found["rdns.internal"]["status"] == "warn"


def test_nothing_passes_when_the_domains_dns_answers_servfail(check_json: CheckJson) -> None:
    """The MX lookup fails (SERVFAIL, with and without validation): DNSSEC and DANE were not
    judged, so the report must not say they pass; it says they were not checked, and why."""
    code, report = check_json(["check", "receive", "dns-servfail.test", "--lab"])
    found = _by_id(report)
    assert "dns.servfail" in found
    assert [f["id"] for f in report["findings"] if f["status"] == "pass"] == []
    assert "MX records of dns-servfail.test" in found["dane.not-checked"]["detail"]
    assert code != 0
