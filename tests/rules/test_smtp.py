"""The SMTP rules on conversations with the lab's hosts, as those hosts answer (their replies
come from the lab's own reply policy, ``mxwizard.lab.smtp_policy``)."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.facts import MailWalk, Visit
from mxwizard.diagnosis.rules.smtp import judge_smtp
from mxwizard.lab.smtp_policy import HostSpec, ReplyPolicy
from mxwizard.probes.mx import MxFacts
from mxwizard.probes.smtp.session import ConnectOutcome, SessionFacts
from mxwizard.probes.smtp.tls import TlsFacts
from rules.conftest import facts_with, mx_host, recorded, session

PROBE_HELO = "probe.mxwizard.invalid"
SENDER = "postmaster@mxwizard.invalid"


def _conversation(spec: HostSpec, *recipients: str) -> SessionFacts:
    """What the receive probe says to ``spec``'s host and what the host answers, with TLS."""
    policy = ReplyPolicy(spec)
    rcpts = [("RCPT", f"RCPT TO:<{r}>", policy.recipient(r, peer="127.0.0.1", sender=SENDER,
                                                        helo=PROBE_HELO, client_rejection=None,
                                                        now=0.0))
             for r in recipients]
    found = session(spec.name, spec.ip, policy.greeting(f"220 {spec.greeting_name} ESMTP"),
                    ("EHLO", f"EHLO {PROBE_HELO}", "\n".join(policy.ehlo(tls_active=False))),
                    ("STARTTLS", "STARTTLS", "220 2.0.0 Ready to start TLS"),
                    ("EHLO", f"EHLO {PROBE_HELO}", "\n".join(policy.ehlo(tls_active=True))),
                    ("MAIL", f"MAIL FROM:<{SENDER}>", "250 2.1.0 Ok"), *rcpts,
                    ("QUIT", "QUIT", "221 2.0.0 Bye"))
    found.extensions_before_tls = {"STARTTLS": ""}
    found.tls = TlsFacts("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, None)
    return found


def test_an_unknown_mailbox_fails_and_names_the_address() -> None:
    rec = recorded("unknown-mailbox")
    spec = HostSpec("mx.users.test", "127.0.2.9", domains=("users.test",), users=("alice", "bob"))
    visit = Visit(10, spec.name, spec.ip, _conversation(spec, "postmaster@users.test", "nobody@users.test"))
    facts = facts_with(mx=MxFacts("users.test", rec("users.test", "MX")),
                       mx_hosts=[mx_host(rec, 10, "mx.users.test")])
    walk = MailWalk([visit], "postmaster@users.test", "nobody@users.test")
    found = {f.id: f for f in judge_smtp(facts, walk)}
    assert found["smtp.tls-ok"].status is Status.PASS
    unknown = found["smtp.mailbox-unknown"]
    assert (unknown.status, unknown.side) == (Status.FAIL, Side.YOU)
    assert unknown.title == "mx.users.test says nobody@users.test does not exist"
    assert "Create the mailbox or an alias for nobody@users.test" in unknown.fix


def test_an_mx_that_answers_relay_denied_for_its_own_domain_misses_it_from_its_accepted_domains() -> None:
    rec = recorded("domain-not-accepted")
    spec = HostSpec("mx.notaccepted.test", "127.0.2.8", domains=("other.test",))
    visit = Visit(10, spec.name, spec.ip, _conversation(spec, "postmaster@notaccepted.test"))
    facts = facts_with(mx=MxFacts("notaccepted.test", rec("notaccepted.test", "MX")),
                       mx_hosts=[mx_host(rec, 10, spec.name)])
    found = {f.id: f for f in judge_smtp(facts, MailWalk([visit], "postmaster@notaccepted.test", None))}
    missing = found["smtp.domain-not-accepted"]
    assert (missing.status, missing.side) == (Status.FAIL, Side.YOU)
    assert missing.fix.startswith("Add notaccepted.test to the domains the server accepts mail for")
    assert "<- 554 5.7.1 <postmaster@notaccepted.test>: Relay access denied" in missing.evidence


def test_every_mx_silent_on_port_25_but_answering_elsewhere_points_at_a_blocked_port() -> None:
    rec = recorded("all-mx-unreachable")
    hosts = [mx_host(rec, 10, "mx1.blackhole.test"), mx_host(rec, 20, "mx2.blackhole.test")]
    visits = [Visit(h.preference, h.host, h.addresses[0],
                    SessionFacts(h.host, h.addresses[0], 2525, PROBE_HELO, None,
                                 outcome=ConnectOutcome.TIMEOUT, ended="timeout"),
                    other_ports={587: "refused", 443: "refused"})
              for h in hosts]
    facts = facts_with(mx=MxFacts("blackhole.test", rec("blackhole.test", "MX")), mx_hosts=hosts)
    found = {f.id: f for f in judge_smtp(facts, MailWalk(visits, "postmaster@blackhole.test", None))}
    assert found["smtp.unreachable"].status is Status.FAIL
    blocked = found["port25.blocked"]
    assert (blocked.status, blocked.side) == (Status.FAIL, Side.NETWORK)
    assert blocked.title == "Port 2525 seems blocked between you and the mail servers"
    assert "relayhost = [smtp.your-isp.example]:587" in blocked.fix
