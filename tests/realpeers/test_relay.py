"""``check relay`` against a real open relay, a real closed server, and a closed server that
refuses the tester before its relay rule is ever asked."""

from __future__ import annotations

from .observe import swaks
from .peers import Check, Peers

#: The stranger-to-stranger addresses mxwizard's relay test uses (RFC 2606 example domains).
STRANGER = "relay-test@example.com"


def test_open_relay_is_found(peers: Peers, mxwizard: Check) -> None:
    """(c) A mynetworks wider than the own network (127.0.0.0/8) relays for the probe."""
    plan = peers.plan
    witness = swaks(plan.open_relay, peers.smtp_port, source=plan.clean, sender="relay-test@example.org",
                    to=STRANGER)
    assert witness.reply_after("RCPT TO") == ["250 2.1.5 Ok"], witness.output

    report = mxwizard("relay", "mx.open.real.test", "--source-ip", plan.clean)
    finding = report.one("relay.open")
    assert (finding["status"], finding["side"]) == ("fail", "you"), report.summary()
    assert report.status == 1, report.summary()


def test_closed_server_is_not_a_relay(peers: Peers, mxwizard: Check) -> None:
    """(c) reject_unauth_destination with a mynetworks that does not cover the probe."""
    plan = peers.plan
    witness = swaks(plan.closed_relay, peers.smtp_port, source=plan.clean,
                    sender="relay-test@example.org", to=STRANGER)
    said = witness.reply_after("RCPT TO")
    assert said and said[0].startswith("554 5.7.1") and "Relay access denied" in said[0], witness.output

    report = mxwizard("relay", "mx.closed.real.test", "--source-ip", plan.clean)
    assert report.one("relay.closed")["status"] == "pass", report.summary()
    assert report.status == 0, report.summary()


def test_relay_verdict_needs_the_relay_rule_to_be_reached(peers: Peers, mxwizard: Check) -> None:
    """(c) The vantage point: From a blocklisted source the closed server answers
    every RCPT with reject_rbl_client's 554, which Postfix evaluates before the relay rule: the
    relay question was never asked, so "closed" would be a guess. Expected relay.untested
    (side network), not relay.closed, and exit 3."""
    plan = peers.plan
    witness = swaks(plan.closed_relay, peers.smtp_port, source=plan.listed,
                    sender="relay-test@example.org", to=STRANGER)
    said = witness.reply_after("RCPT TO")
    assert said and said[0].startswith("554 5.7.1 Service unavailable; Client host "
                                       f"[{plan.listed}] blocked using"), witness.output

    report = mxwizard("relay", "mx.closed.real.test", "--source-ip", plan.listed)
    assert not report.with_id("relay.closed"), report.summary()
    untested = report.one("relay.untested")
    assert untested["side"] == "network", report.summary()
    assert report.status == 3, report.summary()
