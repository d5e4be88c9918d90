"""Reconciliation: a rule's "receivers refuse this" cannot stand as a failure when the
recipient's own server, in the same report, accepted exactly that."""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.diagnosis.facts import Rehearsal, Visit
from mxwizard.diagnosis.rules.reconcile import reconcile_send
from mxwizard.diagnosis.tree import Facts
from mxwizard.lab.smtp_policy import HostSpec, ReplyPolicy
from mxwizard.probes.helo import HeloFacts
from mxwizard.probes.public_ip import PublicIp
from rules.conftest import facts_with, session

BARE_HELO = "mailserver"
NOT_FQDN = Finding("helo.not-fqdn", Status.FAIL, f"Your server's HELO name '{BARE_HELO}' is not a full "
                   "domain name", detail="HELO must be a fully qualified name.", side=Side.YOU)


def _rehearsal(spec: HostSpec) -> Rehearsal:
    """The delivery rehearsal to ``spec``'s host with the bare HELO, as that host answers it."""
    policy = ReplyPolicy(spec)
    answer = policy.recipient("bob@home.test", peer="127.0.1.10", sender="alice@home.test",
                              helo=BARE_HELO, client_rejection=None, now=0.0)
    visit = Visit(10, spec.name, spec.ip, session(
        spec.name, spec.ip, f"220 {spec.name} ESMTP",
        ("EHLO", f"EHLO {BARE_HELO}", "\n".join(policy.ehlo(tls_active=True))),
        ("MAIL", "MAIL FROM:<alice@home.test>", "250 2.1.0 Ok"),
        ("RCPT", "RCPT TO:<bob@home.test>", answer), helo=BARE_HELO, source_ip="127.0.1.10"))
    return Rehearsal("alice@home.test", "bob@home.test", BARE_HELO, [visit])


def _facts(spec: HostSpec) -> Facts:
    return facts_with(facts_with().settings.with_changes(source_ip="127.0.1.10"),
                      ip=PublicIp("127.0.1.10"), helo=HeloFacts(BARE_HELO, assumed=False),
                      delivery=_rehearsal(spec))


def test_a_bare_helo_the_recipients_server_accepted_is_a_warning_with_its_replies() -> None:
    lenient = HostSpec("mx.home.test", "127.0.2.22", domains=("home.test",))
    [softened] = reconcile_send(_facts(lenient), [NOT_FQDN])
    assert (softened.id, softened.status) == ("helo.not-fqdn", Status.WARN)
    assert "the recipient's server mx.home.test accepted the HELO name 'mailserver'" in softened.detail
    assert "-> EHLO mailserver" in softened.evidence


def test_the_softened_finding_shows_the_acceptance_it_rests_on() -> None:
    lenient = HostSpec("mx.home.test", "127.0.2.22", domains=("home.test",))
    [softened] = reconcile_send(_facts(lenient), [NOT_FQDN])
    assert "<- 250 2.1.5 Ok" in softened.evidence  # "its replies are in the evidence"


def test_a_recipient_server_that_refuses_the_bare_helo_leaves_the_failure_standing() -> None:
    strict = HostSpec("mx.home.test", "127.0.2.22", domains=("home.test",), helo_checks=True)
    assert reconcile_send(_facts(strict), [NOT_FQDN]) == [NOT_FQDN]
