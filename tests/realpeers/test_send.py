"""``check send`` against real receivers: the delivery rehearsal and the HELO rule must agree
with what Postfix does, and a signature made by OpenDKIM must verify."""

from __future__ import annotations

from pathlib import Path

from .observe import Report, swaks
from .peers import Check, Peers
from .zones import BLOCKLIST, DKIM_SELECTOR, HELO, SENDER, STRICT

ALICE = f"alice@{SENDER}"


def _send(mxwizard: Check, peers: Peers, recipient: str, *extra: str) -> Report:
    """``check send`` from the clean address (as --ip and --source-ip), with the fixture's own
    blocklist instead of the public ones."""
    clean = peers.plan.clean
    return mxwizard("send", "--from", ALICE, "--to", recipient, "--ip", clean, "--source-ip", clean,
                    "--dnsbl", BLOCKLIST, *extra)


def test_bare_helo_accepted_by_postfix_is_only_a_warning(peers: Peers, mxwizard: Check) -> None:
    """(e) The reconciliation: Postfix does not reject a bare HELO by default: the
    strict MX accepts "EHLO mailhost" and the recipient. The rehearsal shows that, so
    helo.not-fqdn must not fail this send: warn, next to delivery.accepted, and exit 0."""
    plan = peers.plan
    witness = swaks(plan.strict_mx, peers.smtp_port, source=plan.clean, sender=ALICE,
                    to=f"bob@{STRICT}", helo="mailhost")
    assert witness.reply_after("RCPT TO") == ["250 2.1.5 Ok"], witness.output

    report = _send(mxwizard, peers, f"bob@{STRICT}", "--helo", "mailhost")
    assert report.one("delivery.accepted")["status"] == "pass", report.summary()
    helo = report.one("helo.not-fqdn")
    assert helo["status"] == "warn", report.summary()
    assert not report.failing("helo"), report.summary()
    assert report.status == 0, report.summary()


def test_bare_helo_refused_by_postfix_stays_a_failure(peers: Peers, mxwizard: Check) -> None:
    """(e) The receiver that enforces reject_non_fqdn_helo_hostname answers RCPT with 504
    (smtpd_delay_reject): helo.not-fqdn stays a failure and the rehearsal shows the 504.

    Needs --private-network (new): without it, --ip 127.x is "behind NAT" and the HELO step
    never runs."""
    plan = peers.plan
    witness = swaks(plan.helo_mx, peers.smtp_port, source=plan.clean, sender=ALICE,
                    to=f"bob@{HELO}", helo="mailhost")
    refusal = "504 5.5.2 <mailhost>: Helo command rejected: need fully-qualified hostname"
    assert witness.reply_after("RCPT TO") == [refusal], witness.output

    report = _send(mxwizard, peers, f"bob@{HELO}", "--helo", "mailhost")
    assert report.one("helo.not-fqdn")["status"] == "fail", report.summary()
    rejected = report.one("delivery.rejected")
    assert any(refusal in line for line in rejected["evidence"]), rejected["evidence"]
    assert refusal in report.server_lines(plan.helo_mx)
    assert report.status == 1, report.summary()


def test_opendkim_signature_verifies(peers: Peers, mxwizard: Check, signed_message: Path) -> None:
    """(h) The message as OpenDKIM signed it on Postfix: the key is published and the
    signature verifies (dkimpy inside mxwizard, against a signer that is not dkimpy)."""
    report = _send(mxwizard, peers, f"bob@{STRICT}", "--message", str(signed_message),
                   "--dkim-selector", DKIM_SELECTOR)
    verified = [f for f in report.with_id("dkim.ok") if "signature" in f["title"]]
    assert verified, f"the signature did not verify; {report.summary()}"
    assert f"d={SENDER} s={DKIM_SELECTOR}" in verified[0]["title"]
    assert not report.with_id("dkim.fail"), report.summary()


def test_changed_body_fails_the_body_hash(peers: Peers, mxwizard: Check, signed_message: Path,
                                          tmp_path: Path) -> None:
    """(h) One body byte changed after signing: the body hash no longer matches."""
    original = signed_message.read_bytes()
    head, separator, body = original.partition(b"\n\n")
    assert separator and b"Hello Bob" in body
    changed = tmp_path / "changed.eml"
    changed.write_bytes(head + separator + body.replace(b"Hello Bob", b"Hello Rob", 1))

    report = _send(mxwizard, peers, f"bob@{STRICT}", "--message", str(changed),
                   "--dkim-selector", DKIM_SELECTOR)
    failed = report.one("dkim.fail")
    assert failed["status"] == "fail", report.summary()
    assert "body" in failed["detail"], failed["detail"]
