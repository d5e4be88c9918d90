"""Rules shared by every branch for lookups that did not get a usable answer.

"The name does not exist" and "the DNS server did not answer" are different findings with
different fixes: the first is about the domain's records, the second about the resolver or the
domain's name servers. Every rule that reads a lookup asks :func:`unanswered` first.
"""

from __future__ import annotations

from mxwizard.diagnosis.findings import Finding, Side, Status
from mxwizard.dnsview import dig_command
from mxwizard.probes.dns import Lookup, Outcome


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
