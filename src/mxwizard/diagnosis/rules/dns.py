"""Rules shared by every branch for lookups that did not get a usable answer.

"The name does not exist" and "the DNS server did not answer" are different findings with
different fixes: the first is about the domain's records, the second about the resolver or the
domain's name servers. Every rule that reads a lookup asks :func:`unanswered` first.

"The name does not exist" is only worth believing from an honest resolver: captive portals,
filtering resolvers and broken VPN DNS answer NXDOMAIN for every name. Every rule that would
conclude from an NXDOMAIN asks :func:`resolver_broken` first, which reads the resolver's answer
to the sanity question (``probes.resolver_health``) and, if it proves a lie, gives the one
finding that blames the resolver instead of the domain.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.diagnosis.facts import RESOLVER_SANITY
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dns import Lookup, Outcome
from mxwizard.probes.resolver_health import ResolverSanity
from mxwizard.render.dnsview import dig_command


def _no_answer(lookup: Lookup) -> str:
    """How the answer failed to come: silence, or a closed port that said so at once."""
    return "were told that no DNS server listens there" if "port is closed" in lookup.note else (
        "got no answer within the time limit")


def unanswered(lookup: Lookup, what: str) -> Finding | None:
    """An ``error`` finding if ``lookup`` got no usable answer, naming the server asked."""
    evidence = (dig_command(lookup), f"{lookup.outcome.value}: {lookup.note}".rstrip(": "))
    if lookup.outcome is Outcome.TIMEOUT:
        return Finding(
            "dns.no-answer", Status.ERROR, f"The DNS server {lookup.server} did not answer",
            detail=(f"We asked {lookup.server} for {what} ({lookup.qname} {lookup.qtype}) and "
                    f"{_no_answer(lookup)}, so we cannot tell whether the records are right. This "
                    f"is a problem of the resolver or the network path to it, not of the domain."),
            fix=("Check that the resolver address is right and reachable, e.g.\n"
                 f"  {dig_command(lookup)}\n"
                 "or ask another resolver with --resolver IP."),
            side=Side.NETWORK, evidence=evidence,
        )
    if lookup.outcome is Outcome.SERVFAIL:
        return Finding(
            "dns.servfail", Status.ERROR, f"DNS lookup of {lookup.qname} failed (SERVFAIL)",
            detail=(f"The resolver {lookup.server} answered SERVFAIL for {what}: it could not get an "
                    "answer from the domain's name servers. Either those name servers are down or "
                    "misconfigured (a broken delegation or DNSSEC signature), or the resolver "
                    "itself has trouble. Senders whose resolvers fail the same way will queue "
                    "mail and retry, then bounce it."),
            fix=("Ask another resolver (--resolver 9.9.9.9 or 1.1.1.1). If it fails there too, "
                 "check the domain's NS records and DNSSEC with your DNS provider."),
            side=Side.YOU, evidence=evidence,
        )
    if lookup.outcome is Outcome.REFUSED:
        return Finding(
            "dns.refused", Status.ERROR, f"The DNS server {lookup.server} refused to answer",
            detail=(f"{lookup.server} answered REFUSED for {what}: it does not answer questions "
                    "from us about this name (it is not a resolver for us, or not authoritative)."),
            fix="Use a resolver that serves you: --resolver with your ISP's or a public resolver.",
            side=Side.NETWORK, evidence=evidence,
        )
    if lookup.outcome is Outcome.ERROR:
        return Finding(
            "dns.error", Status.ERROR, f"DNS lookup of {lookup.qname} went wrong",
            detail=f"The lookup of {what} at {lookup.server} failed: {lookup.note}.",
            fix="Run the check again; if it persists, try another resolver with --resolver.",
            side=Side.NETWORK, evidence=evidence,
        )
    return None


class ResolverVerdict(str, Enum):
    """What the sanity question proves about the resolver."""

    HONEST = "honest"  # the root's name servers came back
    LIES = "lies"  # "the root does not exist", or it has no name servers: impossible
    UNKNOWN = "unknown"  # no usable answer (timeout, SERVFAIL, REFUSED): no proof either way


def _sanity_verdict(lookup: Lookup) -> ResolverVerdict:
    if lookup.outcome is Outcome.ANSWER:
        return ResolverVerdict.HONEST
    if lookup.outcome in (Outcome.NXDOMAIN, Outcome.NODATA):
        return ResolverVerdict.LIES
    return ResolverVerdict.UNKNOWN


def resolver_verdict(sanity: ResolverSanity) -> ResolverVerdict:
    """Honest, lying or unknown, from the answers to the sanity questions: one impossible answer
    is proof enough, whatever the others said."""
    verdicts = [_sanity_verdict(lookup) for lookup in sanity.lookups]
    if ResolverVerdict.LIES in verdicts:
        return ResolverVerdict.LIES
    if verdicts and all(v is ResolverVerdict.HONEST for v in verdicts):
        return ResolverVerdict.HONEST
    return ResolverVerdict.UNKNOWN


def _sanity_line(lookup: Lookup) -> str:
    answers = " ".join(str(v) for v in lookup.values()) or "(no records)"
    said = answers if lookup.outcome is Outcome.ANSWER else f"{lookup.outcome.value} {answers}"
    return f"{dig_command(lookup)} -> {said}"


def resolver_broken(facts: Facts, *lookups: Lookup) -> Finding | None:
    """``dns.resolver-broken`` if any of ``lookups`` said "no such name" and the resolver that
    said it is proven to lie (it denied the root of the DNS); None when the NXDOMAIN can be
    believed, or nothing proves otherwise (the sanity answer is unknown or not in yet).

    The finding is the same whichever rule asks, so the runner shows it once."""
    sanity = facts.get(RESOLVER_SANITY)
    if sanity is None:
        return None
    liars = {lk.server for lk in sanity.lookups
             if _sanity_verdict(lk) is ResolverVerdict.LIES}
    if not any(lk.outcome is Outcome.NXDOMAIN and lk.server in liars for lk in lookups):
        return None
    return _broken(sanity, next(lk for lk in sanity.lookups if lk.server in liars))


#: What a finding says when it rests on a resolver that was caught lying.
UNTRUSTED_NOTE = (" (Not counted: this rests on answers from a DNS resolver that was caught "
                  "answering 'does not exist' for the root of the DNS; see the resolver finding.)")


def distrust_lying_resolver(facts: Facts, findings: list[Finding]) -> list[Finding]:
    """Every conclusion of a diagnosis rests on DNS answers. When the resolver is proven to lie,
    none of them can be counted: ``dns.resolver-broken`` leads the report, and every fault or
    warning is kept but marked unconfirmed (``info``), so nothing is blamed on a lie."""
    sanity = facts.get(RESOLVER_SANITY)
    if sanity is None or resolver_verdict(sanity) is not ResolverVerdict.LIES:
        return findings
    proof = next(lk for lk in sanity.lookups if _sanity_verdict(lk) is ResolverVerdict.LIES)
    broken = _broken(sanity, proof)
    out = [broken]
    for finding in findings:
        if finding.id == broken.id:
            continue
        if finding.status in (Status.FAIL, Status.WARN):
            finding = replace(finding, status=Status.INFO, side=Side.NONE,
                              title=f"Unconfirmed: {finding.title}",
                              detail=finding.detail + UNTRUSTED_NOTE)
        out.append(finding)
    return out


def _broken(sanity: ResolverSanity, proof: Lookup) -> Finding:
    """The ``dns.resolver-broken`` finding, with ``proof`` the impossible answer."""
    server = proof.server
    if proof.outcome is Outcome.NXDOMAIN:
        denial = 'answers "does not exist" even for the root of the DNS'
        told = 'it answered "does not exist" (NXDOMAIN)'
    else:
        denial = "says that the root of the DNS has no name servers"
        told = "it answered that there are none"
    return Finding(
        "dns.resolver-broken", Status.ERROR, f"Your DNS resolver {server} {denial}",
        detail=(f"We asked {server} for the name servers of the root of the DNS ('.'), which "
                f"exist on every DNS tree, and {told}. A resolver that lies about the root says "
                "the same about every name, so nothing it says about names can be trusted: its "
                "'does not exist' proves nothing about the domains checked here, and we do not "
                "blame them. This happens behind "
                "captive portals (hotel, café or guest Wi-Fi before the login), with filtering "
                "resolvers, and with a VPN whose DNS is broken."),
        fix=("Use another resolver, e.g. --resolver 9.9.9.9 (or 1.1.1.1), or fix this "
             "network's DNS: log in to the captive portal, check the VPN's DNS settings, or the "
             "resolver in /etc/resolv.conf. An honest resolver lists the root servers for:\n"
             f"  {dig_command(proof)}"),
        side=Side.NETWORK,
        evidence=tuple(_sanity_line(lk) for lk in sanity.lookups))
