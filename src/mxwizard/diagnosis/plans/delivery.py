"""The delivery rehearsal: what would the recipient's mail server say to this sender right now?

The send branch's last step connects to the recipient domain's MX hosts from ``--source-ip``,
says ``--helo``, gives MAIL FROM and RCPT TO, and stops before DATA — exactly where a receiver
makes its decision about the sender. The answer is read with the reply knowledge base: a
``550 5.7.25`` points back to reverse DNS, a Spamhaus text to the blocklist step, ``S3140`` to
Microsoft's own list. Connections that time out on every MX while the hosts answer elsewhere mean
outbound port 25 is blocked on the way (usually by the user's ISP).

Like a sender, the rehearsal gives up after the ``SENDER_MX_HOSTS`` most preferred hosts, and
each attempt ends within its session budget (see :mod:`mxwizard.diagnosis.plans.visits`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.inputs import MailAddress
from mxwizard.diagnosis.facts import (
    DELIVERY,
    DKIM,
    DMARC,
    DNSBL,
    HELO,
    RDNS,
    RECIPIENT_MX,
    SPF,
    Rehearsal,
)
from mxwizard.diagnosis.plans.visits import SENDER_MX_HOSTS, visit_in_order
from mxwizard.diagnosis.rules.mx import judge_mx, judge_mx_hosts, reachable_hosts
from mxwizard.diagnosis.rules.smtp import decisive_reply, port25_blocked
from mxwizard.diagnosis.tree import Context, FactKey, Facts, Step
from mxwizard.knowledge.bounces import (
    AUTH_FAILED,
    BLOCKED_IP,
    GREYLISTED,
    RDNS_OR_HELO,
    RELAY_DENIED,
    bounce_class,
)
from mxwizard.knowledge.replies import meaning
from mxwizard.probes.mx import MailRoute, mail_route
from mxwizard.probes.smtp.session import ConnectOutcome

#: Where a rejection class sends the reader: the steps of this diagnosis that explain it, by
#: the words for each. A pointer names only steps that really ran, and says which did not.
_POINTERS: dict[str, dict[FactKey[Any], str]] = {
    RDNS_OR_HELO: {RDNS: "reverse DNS", HELO: "HELO"},
    BLOCKED_IP: {DNSBL: "blocklist"},
    AUTH_FAILED: {SPF: "SPF", DKIM: "DKIM", DMARC: "DMARC"},
}
_RELAY_DENIED = "the recipient's domain setup (their server does not accept it)"


def _pointer(facts: Facts, bounce: str) -> str:
    """Where to read more about a rejection: the steps that ran, and those that could not."""
    if bounce == RELAY_DENIED:
        return f" See {_RELAY_DENIED}."
    steps = _POINTERS.get(bounce, {})
    ran = [words for step, words in steps.items() if step in facts]
    missing = [words for step, words in steps.items() if step not in facts]
    out = f" See the {' and '.join(ran)} findings above." if ran else ""
    if missing:
        out += (f" The {' and '.join(missing)} could not be checked here (see the 'not checked' "
                "findings); the rejection text is the evidence.")
    return out


def _theirs(finding: Finding) -> Finding:
    """A finding about the recipient's domain: their side, not the user's."""
    return replace(finding, side=Side.THEM if finding.side is Side.YOU else finding.side)


def judge_recipient_mx(facts: Facts, found: MailRoute) -> list[Finding]:
    """The recipient domain's MX records and hosts, judged by the receive check's own rules but
    on their side: a domain whose MX hosts do not resolve cannot receive, whoever asks."""
    findings = [_theirs(f) for f in judge_mx(facts, found.mx) if f.status is not Status.INFO]
    if not any(f.status in (Status.FAIL, Status.ERROR) for f in findings):
        findings += [_theirs(f) for f in judge_mx_hosts(facts, found.mx.domain, found.hosts)
                     if f.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    return [replace(f, id="recipient." + f.id) if f.status is Status.PASS else f for f in findings]


def judge_rehearsal(facts: Facts, rehearsal: Rehearsal) -> list[Finding]:
    """Accepted, deferred, rejected (with the pointer to the cause), or port 25 blocked; and a
    note when the rehearsal gave up before the last MX host, as senders do."""
    findings = _verdict(facts, rehearsal)
    if rehearsal.left_out:
        tried = len(rehearsal.visits)
        findings.append(Finding(
            "delivery.hosts-left-out", Status.INFO,
            f"Your server would give up after the {SENDER_MX_HOSTS} most preferred MX hosts",
            detail=(f"None of the {tried} most preferred MX hosts of the recipient's domain took "
                    f"or refused the mail for good. Senders try at most {SENDER_MX_HOSTS} "
                    "(Postfix: smtp_mx_address_limit, Exim: hosts_max_try), then keep the "
                    "message in their queue and try again later; so did the rehearsal, and the "
                    f"other {rehearsal.left_out} MX hosts were not tried."),
            side=Side.NONE))
    return findings


def _verdict(facts: Facts, rehearsal: Rehearsal) -> list[Finding]:
    visits = rehearsal.visits
    if not visits:
        return []
    greeted = [v for v in visits if v.final.outcome is ConnectOutcome.GREETED]
    if not greeted:
        timed_out = [v for v in visits if v.first.outcome is ConnectOutcome.TIMEOUT]
        blocked = port25_blocked(timed_out, len(visits), Side.NETWORK)
        if blocked:
            return blocked
        return [Finding(
            "delivery.deferred", Status.WARN, "None of the recipient's mail servers could be reached",
            detail=("Every MX host refused or ignored the connection. Your server will queue the "
                    "message and retry; if this lasts, the mail bounces after a few days."),
            fix=("Try again later; if it persists, check whether your network allows outgoing "
                 "connections to port 25."),
            side=Side.THEM,
            evidence=tuple(f"{v.host} [{v.ip}]: {v.first.outcome.value}" for v in visits))]
    last = visits[-1]
    reply = decisive_reply(last.final)
    evidence = tuple(f"{line.dir.arrow} {line.text}" for line in last.final.lines
                     if line.dir.value in "CS")[-6:]
    if reply is None:
        return [Finding("delivery.deferred", Status.WARN, f"{last.host} ended the conversation early",
                        detail=last.final.error or "The session ended before RCPT TO was answered.",
                        fix="Look at the transcript for where it stopped.", side=Side.THEM,
                        evidence=evidence)]
    info = meaning(reply.code, reply.text)
    if reply.positive:
        return [Finding(
            "delivery.accepted", Status.PASS,
            f"{last.host} would accept mail from {rehearsal.sender} for {rehearsal.recipient}",
            detail=("It accepted the sender and the recipient. We stopped before sending a "
                    "message; content filters that look at the message itself come later."),
            side=Side.NONE, evidence=evidence)]
    cls = bounce_class(info.bounce_class) if info.bounce_class else None
    side = Side(cls.side) if cls else (Side.THEM if info.bounce_class is None else Side.YOU)
    provider = f" ({info.provider})" if info.provider else ""
    detail = (f"{last.host} answered '{reply.code} {reply.enhanced or ''}'{provider}: "
              f"{info.explanation}" + _pointer(facts, info.bounce_class or ""))
    fix = cls.fix if cls else "Read the server's answer in the transcript; it names the reason."
    if reply.transient:
        return [Finding("delivery.deferred", Status.INFO if info.bounce_class == GREYLISTED
                        else Status.WARN, f"{last.host} defers the mail ({reply.code})",
                        detail=detail, fix=fix, side=side, evidence=evidence)]
    return [Finding("delivery.rejected", Status.FAIL, f"{last.host} refuses the mail ({reply.code})",
                    detail=detail, fix=fix, side=side, evidence=evidence)]


def delivery_steps(sender: MailAddress, recipient: MailAddress,
                   helo_of: Callable[[Facts], str],
                   helo_after: tuple[FactKey[Any], ...] = ()) -> list[Step[Any]]:
    """The rehearsal's two steps: the recipient's MX, then the conversation with it.

    ``helo_of`` gives the HELO name to say (``--helo``, or one derived from earlier facts such as
    the PTR name); the steps it reads are listed in ``helo_after``.
    """
    domain = recipient.domain.ascii

    async def observe_mx(ctx: Context) -> MailRoute:
        return await mail_route(ctx.dns, domain)

    async def observe_delivery(ctx: Context) -> Rehearsal:
        found = ctx.facts[RECIPIENT_MX]
        name = helo_of(ctx.facts)
        hosts = reachable_hosts(ctx.facts, found.hosts)
        visits = await visit_in_order(ctx, hosts, helo=name,
                                      sender=str(sender),
                                      recipients=[str(recipient)])
        last = decisive_reply(visits[-1].final) if visits else None
        finished = last is not None and not last.transient
        left_out = 0 if finished else max(0, len(hosts) - SENDER_MX_HOSTS)
        return Rehearsal(str(sender), str(recipient), name, visits, left_out)

    def no_hosts(facts: Facts) -> str:
        route = facts[RECIPIENT_MX]
        if reachable_hosts(facts, route.hosts):
            return ""
        return (f"no MX host of {route.mx.domain} has an address to deliver to (see the findings "
                "about the recipient's domain above)")

    return [
        Step(RECIPIENT_MX, f"Where mail for {recipient.domain.text} goes",
             "Your server looks up the recipient domain's MX records to find where to deliver.",
             observe_mx, judge_recipient_mx, budget=6.5),
        Step(DELIVERY, "Delivery rehearsal",
             "We talk to the recipient's server the way yours would, up to the point where the "
             "message would be sent. Its answer is the receiver's verdict on your server.",
             observe_delivery, judge_rehearsal,
             after=(RECIPIENT_MX, *helo_after), skip=no_hosts, budget=40),
    ]
