"""The relay branch: does a server pass on mail from strangers to strangers (an open relay)?

The test works like the well-known scanners: one EHLO, then for each address trick RSET, MAIL
FROM, RCPT TO, and a note of whether the server said yes. It stops at the first "530
authentication required" (the server wants a login before anything, which is closed to
strangers), never sends DATA — so no message can ever leave — and uses only the reserved example
domains for the foreign addresses. A yes to RCPT is strong evidence, not proof: some servers say
yes and throw the mail away, which is why odd-syntax-only acceptances are reported as "possible".

The whole conversation ends within :data:`RELAY_TIMEOUTS` × ``--timeout``, and takes one of the
diagnosis's SMTP session slots (:func:`mxwizard.diagnosis.plans.visits.smtp_slot`). A conversation cut
off before every trick was tried (too slow in all, or too many lines) gives no verdict unless
the server already said yes to relaying: a "closed" from half a test would be a guess.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.inputs import HostPort
from mxwizard.core.transcript import endpoint
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import RELAY, Attempt, RelayTest, Variant, Visit
from mxwizard.diagnosis.plans.visits import smtp_slot
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.diagnosis.rules.smtp import _anomalies, _connection
from mxwizard.diagnosis.rules.vantage import probe_refused, refusal_of_probe
from mxwizard.diagnosis.tree import Context, Facts, Plan, Step
from mxwizard.knowledge.bounces import RELAY_DENIED
from mxwizard.knowledge.replies import meaning
from mxwizard.probes.smtp.session import Command, Reply, SessionFacts, SmtpConversation

#: The HELO name of the relay test: a name nobody owns, so nothing is impersonated.
RELAY_HELO = "relay-test.mxwizard.invalid"
#: Foreign addresses come only from the domains reserved for examples (RFC 2606).
FOREIGN_SENDER = "relay-test@example.org"
FOREIGN_RECIPIENT = "relay-test@example.com"
#: The wall-clock bound of the relay test's conversation, in timeouts: it ends within
#: RELAY_TIMEOUTS × ``--timeout``, connect included. The test waits for about 27 replies
#: (greeting, EHLO, and RSET, MAIL FROM, RCPT TO for each of eight tricks); a real server answers
#: each in well under a second, and even one that tarpits every refusal by a few seconds (as
#: Exchange does) fits at the default timeout. A server that answers every command just inside
#: the reply's time limit would otherwise hold the test for 27 timeouts.
RELAY_TIMEOUTS = 10


def variants(own: str) -> list[Variant]:
    """The address tricks, with ``own`` the server's own domain (or its ``[address]``)."""
    local, domain = FOREIGN_RECIPIENT.split("@")
    return [
        Variant("stranger to stranger", FOREIGN_SENDER, FOREIGN_RECIPIENT, True),
        Variant("null sender to stranger", "", FOREIGN_RECIPIENT, True),
        Variant("its own domain as sender", f"postmaster@{own}", FOREIGN_RECIPIENT, True),
        Variant("percent hack", FOREIGN_SENDER, f"{local}%{domain}@{own}", False),
        Variant("quoted local part", FOREIGN_SENDER, f'"{FOREIGN_RECIPIENT}"@{own}', False),
        Variant("double @", FOREIGN_SENDER, f"{FOREIGN_RECIPIENT}@{own}", False),
        Variant("source route", FOREIGN_SENDER, f"@{own}:{FOREIGN_RECIPIENT}", False),
        Variant("bang path", FOREIGN_SENDER, f"{domain}!{local}@{own}", False),
    ]


def _own_domain(host: str, ip: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return ".".join(labels[1:]) if len(labels) > 2 else host
    return f"[{ip}]"


async def _observe(ctx: Context, server: HostPort) -> RelayTest:
    port = server.port or ctx.settings.smtp_port
    test = RelayTest(server.host, None, port)
    try:
        test.ip = str(ipaddress.ip_address(server.host))
    except ValueError:
        test.lookup = await ctx.dns.query(server.host, "A")
        addresses = [str(v) for v in test.lookup.values()]
        if not addresses:
            return test
        test.ip = addresses[0]
    assert test.ip is not None
    conversation = SmtpConversation(
        server.host, test.ip, port, helo=RELAY_HELO, timeout=ctx.settings.timeout,
        on_line=ctx.session(server.host, test.ip, port), clock=ctx.clock,
        source_ip=ctx.settings.source_ip, budget=RELAY_TIMEOUTS * ctx.settings.timeout,
        purpose="the relay test",
    )
    async with smtp_slot(ctx):
        if await conversation.open() and await conversation.run(Command.ehlo()) is not None:
            for variant in variants(_own_domain(server.host, test.ip)):
                if not conversation.usable:
                    break
                await conversation.run(Command.rset())
                mail = await conversation.run(Command.mail_from(variant.mail_from))
                rcpt = None
                if mail is not None and mail.code == 530:
                    test.auth_required = mail
                elif mail is not None and mail.positive:
                    rcpt = await conversation.run(Command.rcpt_to(variant.rcpt_to))
                    if rcpt is not None and rcpt.code == 530:
                        test.auth_required = rcpt
                test.attempts.append(Attempt(variant, mail, rcpt))
                if test.auth_required is not None:
                    break
        await conversation.close()
    test.session = conversation.facts
    return test


def _line(attempt: Attempt) -> str:
    def said(reply: Reply | None) -> str:
        return "no answer" if reply is None else f"{reply.code} {reply.text}"[:120]

    v = attempt.variant
    asked = attempt.mail is not None and attempt.mail.positive
    rcpt = f"; RCPT TO:<{v.rcpt_to}> -> {said(attempt.rcpt)}" if asked else ""
    return f"{v.label}: MAIL FROM:<{v.mail_from}> -> {said(attempt.mail)}{rcpt}"


def judge_relay(facts: Facts, test: RelayTest) -> list[Finding]:
    """Open, possibly open, closed, or closed behind authentication."""
    where = endpoint(test.host, test.port)
    if test.ip is None:
        assert test.lookup is not None
        return [unanswered(test.lookup, f"the address of {test.host}") or Finding(
            "relay.untested", Status.ERROR, f"{test.host} has no address",
            detail=f"The name {test.host} has no A record ({test.lookup.outcome.value}), so there "
                   "is nothing to test.", fix="Check the spelling of the server's name.",
            side=Side.YOU)]
    assert test.session is not None
    problem = _connection(Visit(0, test.host, test.ip, test.session), others_work=False)
    if problem is not None:  # no conversation, so nothing about relaying is known
        return [replace(problem, status=Status.ERROR)]
    evidence = tuple(_line(a) for a in test.attempts)
    source_ip = facts.settings.source_ip
    banner = test.session.banner
    if banner is not None and banner.code >= 400:
        aimed_at_us = refusal_of_probe(banner)
        if aimed_at_us is not None:
            return [probe_refused(where, banner, aimed_at_us, source_ip, "whether it relays",
                                  _evidence(test.session), "relay.untested", Status.ERROR)]
        return [_untested(where, f"it refuses us in its greeting ('{visible(banner.text, 120)}', "
                          f"{banner.code}), before any relay attempt", Side.NONE,
                          _evidence(test.session))]
    accepted = [a for a in test.attempts if a.rcpt is not None and a.rcpt.positive]
    plain = [a for a in accepted if a.variant.plain]
    if test.session.cut_off and not accepted and test.auth_required is None and \
            len(_answered(test)) < len(variants("")):
        return _cut_off(where, test, evidence)
    if plain:
        return [Finding(
            "relay.open", Status.FAIL, f"{where} is an open relay",
            detail=(f"It accepted mail from a stranger for a stranger ({plain[0].variant.label}). "
                    "Spammers find such servers within hours and send through them; then the "
                    "server's address lands on every blocklist and its own users' mail is refused "
                    "everywhere. (We never send the message itself, so a server that says yes and "
                    "then throws the mail away looks the same; treat it as open.)"),
            fix=("Relay only for your own users and networks, e.g. Postfix:\n"
                 "  smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,"
                 " reject_unauth_destination\n"
                 "  mynetworks = 127.0.0.0/8   (no public ranges)\n"
                 "Exim: keep relay_from_hosts to your own networks; Exchange: remove anonymous "
                 "relay permissions from receive connectors. Then ask the blocklists to re-test."),
            side=Side.YOU, evidence=evidence)]
    if accepted:
        return [Finding(
            "relay.possible", Status.WARN, f"{where} accepts odd relay addresses",
            detail=("It refused the plain relay attempts but said yes to tricks ("
                    + ", ".join(a.variant.label for a in accepted)
                    + "). Many servers accept such addresses and then treat them as a local "
                    "mailbox that does not exist, so this may be harmless; but if the server "
                    "hands them on, it relays."),
            fix=("Make the server refuse these forms at RCPT (Postfix: "
                 "allow_percent_hack = no, swap_bangpath = no, and keep reject_unauth_destination)."),
            side=Side.YOU, evidence=evidence)]
    if test.auth_required is not None:
        return [Finding("relay.auth-required", Status.PASS, f"{where} requires a login before mail",
                        detail="It answered 530: only authenticated users may send through it.",
                        side=Side.NONE, evidence=evidence)]
    if not test.attempts:
        return [_untested(where, "the conversation ended before any relay attempt could be made",
                          Side.NONE, _evidence(test.session))]
    answers = [(a, a.rcpt if a.mail is not None and a.mail.positive else a.mail)
               for a in test.attempts]
    for _attempt, reply in answers:
        aimed_at_us = refusal_of_probe(reply)
        if aimed_at_us is not None and reply is not None:
            return [probe_refused(where, reply, aimed_at_us, source_ip, "whether it relays",
                                  evidence, "relay.untested", Status.ERROR)]
    straight = [reply for attempt, reply in answers if attempt.variant.plain]
    denied = [reply for reply in straight if reply is not None and not reply.transient
              and meaning(reply.code, reply.text).bounce_class == RELAY_DENIED]
    if denied and all(reply is not None and reply.code >= 500 for reply in straight):
        return [Finding("relay.closed", Status.PASS, f"{where} is not an open relay",
                        detail=(f"It refused all {len(test.attempts)} ways of relaying mail from "
                                "strangers to strangers, saying relaying is denied "
                                f"('{visible(f'{denied[0].code} {denied[0].text}', 120)}')."),
                        side=Side.NONE, evidence=evidence)]
    if all(reply is None or reply.transient for _attempt, reply in answers):
        why = ("it answered every attempt only with 'try again later' (4yz) or not at all, which "
               "says nothing about whether it would relay")
    else:
        why = ("it refused the attempts for reasons other than relaying (for example the sender "
               "address), so whether it would relay for others is not known")
    return [_untested(where, why, Side.NONE, evidence)]


def _answered(test: RelayTest) -> list[Attempt]:
    """The attempts that got their answer: a refused MAIL FROM, or a reply to RCPT TO."""
    return [a for a in test.attempts
            if a.mail is not None and (not a.mail.positive or a.rcpt is not None)]


def _cut_off(where: str, test: RelayTest, evidence: tuple[str, ...]) -> list[Finding]:
    """No verdict from a conversation the probe cut off before every trick was tried, when the
    server had said yes to none: the tricks not tried might be the ones it falls for. A flood
    of lines is a protocol error besides."""
    session = test.session
    assert session is not None and session.error is not None
    after = (f"with {len(_answered(test))} of the {len(variants(''))} relay attempts answered"
             if test.attempts else "before any relay attempt")
    untested = _untested(where, f"{session.error}, {after}", Side.NONE,
                         evidence or _evidence(session))
    flooded = session.ended == "too many lines"
    return (_anomalies(Visit(0, test.host, test.ip or "", session)) if flooded else []) + [untested]


def _evidence(session: SessionFacts) -> tuple[str, ...]:
    return tuple(f"{line.dir.arrow} {visible(line.text, 200)}" for line in session.lines
                 if line.dir.value in "CS")[-6:]


def _untested(where: str, why: str, side: Side, evidence: tuple[str, ...]) -> Finding:
    """``relay.untested``: the test gave no evidence either way; never counted as closed."""
    return Finding("relay.untested", Status.ERROR, f"Could not test relaying at {where}",
                   detail=f"No verdict on relaying, because {why}.",
                   fix=("Look at the transcript for the server's answers; test again from another "
                        "address if the refusal is about ours."), side=side, evidence=evidence)


def plan(server: HostPort) -> Plan:
    """The relay test of ``server`` (HOST[:PORT]; the port defaults to ``--smtp-port``)."""

    async def observe(ctx: Context) -> RelayTest:
        return await _observe(ctx, server)

    shown = server.host if server.port is None else endpoint(server.host, server.port)
    return Plan("relay", {"server": shown, "shown": shown}, (
        Step(RELAY, "Open relay test",
             "An open relay passes on mail from anyone to anyone. Spammers hunt for them, and "
             "blocklists list them within hours. We try the usual tricks without sending a message.",
             observe, judge_relay, budget=24),
    ))
