"""The steps about transport security (receive) and the big providers' sender rules (send).

Receive: "Is mail to you protected in transit?" The MTA-STS record and policy and the TLS-RPT
record need nothing but the domain (the MTA-STS step waits only for the MX answer, to write the
real MX hosts into its fixes), and the DNSSEC and DANE lookups need only the MX host names: all of
them run while the SMTP probes talk to the MX hosts, not after. The last step verifies the
certificate chains the SMTP probes kept and judges them together with the policies.

Send: "Will the big providers accept it?" One step after the others, which reads the headers of
``--message`` and holds everything the check learnt against Gmail's, Yahoo's and Outlook.com's
published rules (:mod:`mxwizard.diagnosis.rules.checklist`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from mxwizard.core.inputs import MAX_MESSAGE_BYTES, InputError, read_regular_file
from mxwizard.diagnosis.facts import (
    CHECKLIST,
    DANE,
    DELIVERY,
    DKIM,
    DMARC,
    MTA_STS,
    MX,
    MX_HOSTS,
    RDNS,
    SMTP,
    SPF,
    TLS_RPT,
    TRANSPORT,
)
from mxwizard.diagnosis.rules.checklist import SenderFacts, checklist_rows, judge_checklist
from mxwizard.diagnosis.rules.dane import judge_dnssec
from mxwizard.diagnosis.rules.mta_sts import judge_mta_sts
from mxwizard.diagnosis.rules.tls_rpt import judge_tls_rpt
from mxwizard.diagnosis.rules.transport import judge_transport
from mxwizard.diagnosis.tree import Context, Facts, Step
from mxwizard.probes.dane import DaneFacts, dane_facts
from mxwizard.probes.dns import Outcome
from mxwizard.probes.message_headers import MessageHeaders, read_headers
from mxwizard.probes.mta_sts import FETCH_TIMEOUTS, MtaStsFacts, mta_sts
from mxwizard.probes.mx import MxFacts
from mxwizard.probes.smtp.certificates import TransportFacts, survey
from mxwizard.probes.tls_rpt import TlsRptFacts, tls_rpt


def _mx_names(mx: MxFacts | None) -> list[str]:
    """The MX host names a sender would visit (the domain itself when it has no MX)."""
    if mx is None:
        return []
    names = [t.host for t in mx.targets if not t.is_null and t.ip_literal is None]
    if not mx.targets and mx.fallback_addresses:
        names = [mx.domain]
    return list(dict.fromkeys(names))


def _no_mail_domain(facts: Facts, *, servfail_too: bool = True) -> str:
    """Why the domain's transport security does not apply: it does not exist, takes no mail
    (null MX), or its MX answer could not be had ("" when it applies). ``servfail_too``: also
    when the resolver answered SERVFAIL (the DNSSEC check runs then: a bogus zone is one
    cause of a SERVFAIL)."""
    mx = facts.get(MX)
    if mx is None:
        return ""
    outcome = mx.mx.outcome
    if outcome is Outcome.NXDOMAIN:
        return f"{mx.domain} does not exist (see the first finding)"
    if mx.targets and all(t.is_null for t in mx.targets):
        return f"{mx.domain} accepts no mail (null MX)"
    if outcome.is_failure and (servfail_too or outcome is not Outcome.SERVFAIL):
        return f"the MX records of {mx.domain} could not be looked up (see above)"
    return ""


def transport_steps(domain: str) -> list[Step[Any]]:
    """The receive check's transport-security steps (after its MX and SMTP steps)."""

    async def observe_mta_sts(ctx: Context) -> MtaStsFacts:
        return await mta_sts(ctx.dns, domain, ctx.settings, ctx.slots)

    def judge_sts(facts: Facts, found: MtaStsFacts) -> list[Any]:
        return judge_mta_sts(found, _mx_names(facts.get(MX)))

    async def observe_tls_rpt(ctx: Context) -> TlsRptFacts:
        return await tls_rpt(ctx.dns, domain)

    async def observe_dane(ctx: Context) -> DaneFacts:
        return await dane_facts(ctx.dns, domain, _mx_names(ctx.facts.get(MX)))

    def judge_dane(facts: Facts, found: DaneFacts) -> list[Any]:
        servers = ctx_servers(facts)
        return judge_dnssec(found, servers)

    async def observe_transport(ctx: Context) -> TransportFacts:
        walk = ctx.facts.get(SMTP)
        sessions = [(v.preference, v.host, v.first) for v in (walk.visits if walk else [])]
        names = [h.host for h in ctx.facts.get(MX_HOSTS) or []] or _mx_names(ctx.facts.get(MX))
        return await asyncio.to_thread(survey, domain, sessions, names, ctx.settings.ca_file)

    def judge_all(facts: Facts, found: TransportFacts) -> list[Any]:
        return judge_transport(found, facts.get(MTA_STS), facts.get(DANE))

    def nothing_visited(facts: Facts) -> str:
        walk = facts.get(SMTP)
        if walk is None or not walk.visits:
            return "no MX host was talked to (see the SMTP findings)"
        return ""

    return [
        Step(MTA_STS, "MTA-STS policy",
             "MTA-STS lets a domain tell senders: always use TLS to my MX hosts, with a "
             "certificate you can verify. Without it, an attacker on the path can strip the "
             "encryption unnoticed.",
             observe_mta_sts, judge_sts, after=(MX,), skip=_no_mail_domain,
             budget=2 + FETCH_TIMEOUTS + 0.5),
        Step(TLS_RPT, "TLS reports (TLS-RPT)",
             "Senders can send the domain a daily report of TLS failures with its MX hosts, if "
             "it says where.",
             observe_tls_rpt, lambda _facts, found: judge_tls_rpt(found), after=(MX,),
             skip=_no_mail_domain, budget=1.5),
        Step(DANE, "DNSSEC and DANE",
             "With DNSSEC, a domain's DNS answers are signed; DANE then publishes in DNS which "
             "certificate each MX host presents, so senders need no certificate authority.",
             observe_dane, judge_dane, after=(MX,),
             skip=lambda facts: _no_mail_domain(facts, servfail_too=False), budget=4.5),
        Step(TRANSPORT, "Is mail to you protected in transit?",
             "Senders that check certificates (as MTA-STS and DANE ask them to) refuse an MX "
             "whose certificate does not verify; the others encrypt without checking.",
             observe_transport, judge_all, after=(SMTP, MTA_STS, DANE), skip=nothing_visited,
             budget=2),
    ]


def ctx_servers(facts: Facts) -> str:
    """The resolver asked, as the DNSSEC findings name it."""
    resolver = facts.settings.resolver
    if resolver is None:
        return "the system's resolver"
    ip, port = resolver
    return f"{ip}:{port}" if port != 53 else ip


def _headers(path: str | None) -> MessageHeaders | None:
    if path is None:
        return None
    try:
        return read_headers(read_regular_file(path, MAX_MESSAGE_BYTES, "message file"))
    except InputError as exc:
        return MessageHeaders(problem=str(exc))


def checklist_step(domain: str, message: str | None) -> Step[SenderFacts]:
    """The send check's last step: the providers' sender rules, judged on what it learnt."""

    async def observe(ctx: Context) -> SenderFacts:
        facts = ctx.facts
        return SenderFacts(domain, facts.get(SPF), facts.get(DKIM), facts.get(DMARC),
                           facts.get(RDNS), facts.get(DELIVERY),
                           await asyncio.to_thread(_headers, message))

    def judge(facts: Facts, found: SenderFacts) -> list[Any]:
        return judge_checklist(found, checklist_rows(found))

    return Step(CHECKLIST, "Will the big providers accept it?",
                "Gmail, Yahoo and Outlook.com publish what they demand of senders: "
                "authentication, reverse DNS, TLS, well-formed messages and, for bulk mail, "
                "one-click unsubscribe.",
                observe, judge, after=(SPF, DKIM, DMARC, RDNS, DELIVERY), budget=1)
