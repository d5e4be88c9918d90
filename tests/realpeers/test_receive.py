"""``check receive`` against real Postfix MX hosts: what a postmaster checks first.

Each test asks swaks the same question from the same address, so a disagreement between
mxwizard's verdict and the real server's behaviour shows up as a failure here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .observe import Report, swaks
from .peers import Check, Peers
from .processes import run
from .zones import BLOCKLIST, GREY, STRICT, TLS


def _rcpt_reply(report: Report, ip: str, recipient: str, session: int = 0) -> str:
    """The server's reply line to RCPT TO:<recipient> in mxwizard's transcript."""
    sessions = report.transcripts(ip)
    assert len(sessions) > session, f"no session {session} with {ip}; {report.summary()}"
    lines = sessions[session]["lines"]
    for i, line in enumerate(lines):
        if line["dir"] == "C" and line["text"].upper() == f"RCPT TO:<{recipient}>".upper():
            replies = [later["text"] for later in lines[i + 1:] if later["dir"] == "S"]
            assert replies, f"RCPT TO:<{recipient}> got no reply; {report.summary()}"
            return str(replies[0])
    raise AssertionError(f"mxwizard never sent RCPT TO:<{recipient}> to {ip}; {report.summary()}")


def test_healthy_mx_accepts_postmaster(peers: Peers, mxwizard: Check) -> None:
    """(a) The strict MX seen from a clean address: Postfix's own banner, 250 to postmaster."""
    plan = peers.plan
    report = mxwizard("receive", STRICT, "--source-ip", plan.clean)
    witness = swaks(plan.strict_mx, peers.smtp_port, source=plan.clean, to=f"postmaster@{STRICT}")

    server = report.server_lines(plan.strict_mx)
    assert server[0] == "220 mx.strict.real.test ESMTP Postfix" == witness.server_lines()[0]
    assert _rcpt_reply(report, plan.strict_mx, f"postmaster@{STRICT}") == "250 2.1.5 Ok"
    assert witness.reply_after("RCPT TO") == ["250 2.1.5 Ok"], witness.output
    assert report.one("smtp.accepts")["status"] == "pass"
    assert not report.failing(), report.summary()
    assert report.status == 0, report.summary()


def test_unknown_mailbox_is_reported_with_postfix_reply(peers: Peers, mxwizard: Check) -> None:
    """An address that does not exist: Postfix's 550 5.1.1, and mxwizard names the mailbox."""
    plan = peers.plan
    mailbox = f"nobody@{STRICT}"
    report = mxwizard("receive", STRICT, "--mailbox", mailbox, "--source-ip", plan.clean)
    witness = swaks(plan.strict_mx, peers.smtp_port, source=plan.clean, to=mailbox)

    said = witness.reply_after("RCPT TO")
    assert said and said[0].startswith("550 5.1.1 <nobody@strict.real.test>: Recipient address "
                                       "rejected: User unknown"), witness.output
    assert _rcpt_reply(report, plan.strict_mx, mailbox) == said[0]
    finding = report.one("smtp.mailbox-unknown")
    assert (finding["status"], finding["side"]) == ("fail", "you"), report.summary()
    assert mailbox in finding["title"]
    assert report.status == 1


@pytest.mark.parametrize(("source", "code", "reason"), [
    ("listed", "554 5.7.1", f"blocked using {BLOCKLIST}"),
    ("no_ptr", "450 4.7.25", "cannot find your hostname"),
], ids=["blocklisted-source", "source-without-ptr"])
def test_refusal_of_the_probe_is_not_the_domains_fault(peers: Peers, mxwizard: Check, source: str,
                                                       code: str, reason: str) -> None:
    """(b) The vantage point: Postfix refuses the probe's own address, not the mail:
    the blocklisted source gets 554 at RCPT (reject_rbl_client), the source without reverse DNS
    450 (reject_unknown_client_hostname). That says where we test from, not whether
    strict.real.test takes mail: expected smtp.probe-refused (warn, network), no SMTP failure
    blamed on the domain, exit 0."""
    plan = peers.plan
    address = getattr(plan, source)
    witness = swaks(plan.strict_mx, peers.smtp_port, source=address, to=f"postmaster@{STRICT}")
    said = witness.reply_after("RCPT TO")
    assert said and said[0].startswith(code) and reason in said[0] and f"[{address}]" in said[0], \
        witness.output

    report = mxwizard("receive", STRICT, "--source-ip", address)
    assert _rcpt_reply(report, plan.strict_mx, f"postmaster@{STRICT}") == said[0]
    refused = report.with_id("smtp.probe-refused")
    assert refused, f"expected smtp.probe-refused; {report.summary()}"
    assert (refused[0]["status"], refused[0]["side"]) == ("warn", "network"), report.summary()
    assert not report.with_id("smtp.rejected") and not report.with_id("smtp.mailbox-unknown"), \
        report.summary()
    assert not [f for f in report.failing("smtp") if f["side"] == "you"], report.summary()
    assert report.status == 0, report.summary()


def test_greylisting_backup_mx(peers: Peers, mxwizard: Check) -> None:
    """(d) postgrey on the backup MX defers a new triplet with 450 4.2.0; mxwizard calls it
    greylisting (info), retries after its short wait (longer than postgrey's --delay here) and
    finds nothing to fail. Debian's postgrey never greylists postmaster@, as swaks shows.

    postgrey's database lives in the run's directory, so the triplet (the probe's /24, the null
    sender, someone@) is new in every session, and nothing else in the suite uses it."""
    plan = peers.plan
    report = mxwizard("receive", GREY, "--mailbox", f"someone@{GREY}", "--source-ip", plan.clean)
    greylisted = report.one("smtp.greylisted")
    assert greylisted["status"] == "info", report.summary()
    assert "mx2.grey.real.test" in greylisted["title"]
    first = _rcpt_reply(report, plan.grey_backup, f"someone@{GREY}")
    assert first.startswith("450 4.2.0 <someone@grey.real.test>: Recipient address rejected: "
                            "Greylisted"), first
    assert not report.failing(), report.summary()
    assert report.status == 0, report.summary()

    # The witness, with a triplet of its own: bob@ is greylisted, postmaster@ is whitelisted.
    bob = swaks(plan.grey_backup, peers.smtp_port, source=plan.clean, to=f"bob@{GREY}")
    assert bob.reply_after("RCPT TO")[0].startswith("450 4.2.0"), bob.output
    postmaster = swaks(plan.grey_backup, peers.smtp_port, source=plan.clean, to=f"postmaster@{GREY}")
    assert postmaster.reply_after("RCPT TO") == ["250 2.1.5 Ok"], postmaster.output


def _openssl_verdict(peers: Peers, ca_file: Path | None) -> str:
    """What openssl says about the TLS MX's certificate after STARTTLS (with ``ca_file`` as the
    only trusted CA, or the system's store when None)."""
    trust = ["-CAfile", str(ca_file)] if ca_file is not None else []
    done = run(["openssl", "s_client", "-connect", f"{peers.plan.tls_mx}:{peers.smtp_port}",
                "-starttls", "smtp", *trust, "-verify_hostname", "mx.tls.real.test",
                "-verify_return_error", "-brief"],
               input_bytes=b"QUIT\r\n", timeout=20, check=False)
    return done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")


def test_starttls_with_private_ca(peers: Peers, mxwizard: Check) -> None:
    """(g) STARTTLS works on the TLS MX: 220 to STARTTLS, then EHLO again inside TLS.

    The certificate comes from the fixture's private CA (peers.pki.ca_cert): openssl trusts it
    with that CA and refuses it without, as a verifying sender would; so does mxwizard, with
    --ca-file and without."""
    plan = peers.plan
    report = mxwizard("receive", TLS, "--source-ip", plan.clean)
    assert report.one("smtp.tls-ok")["status"] == "pass", report.summary()
    lines = report.transcripts(plan.tls_mx)[0]["lines"]
    said = [(line["dir"], line["text"], bool(line.get("encrypted"))) for line in lines
            if line["dir"] in ("C", "S")]
    starttls = said.index(("C", "STARTTLS", False))
    assert said[starttls + 1] == ("S", "220 2.0.0 Ready to start TLS", False), said
    assert said[starttls + 2][0] == "C" and said[starttls + 2][1].startswith("EHLO "), said
    assert said[starttls + 2][2], "the EHLO after STARTTLS must be marked as sent inside TLS"
    assert not report.failing(), report.summary()

    trusted = _openssl_verdict(peers, peers.pki.ca_cert)
    assert "Verification: OK" in trusted, trusted
    untrusted = _openssl_verdict(peers, None)
    assert "Verification: OK" not in untrusted and "unable to get local issuer certificate" in untrusted, \
        untrusted

    # mxwizard judges the same chain the same way: a warning without the CA (nobody enforces
    # here), a pass with it
    certificate = report.one("smtp.tls-certificate")
    assert certificate["status"] == "warn" and "private one" in certificate["detail"], certificate
    with_ca = mxwizard("receive", TLS, "--source-ip", plan.clean, "--ca-file", str(peers.pki.ca_cert))
    assert with_ca.one("smtp.tls-certificate-ok")["status"] == "pass", with_ca.summary()
