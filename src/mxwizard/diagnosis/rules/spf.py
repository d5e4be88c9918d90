"""Rules for SPF: is the sending address authorised by the sender domain's record?

The verdict is pyspf's; these rules add what a person needs to act on it: which term decided,
how many of the ten allowed DNS lookups the record uses (and where, in the include tree), and
the exact record that would authorise the user's address.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import SpfFacts
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.spf import LOOKUP_LIMIT, VOID_LIMIT, SpfNode, SpfVerdict, proposed_record


def _terms_needed(tree: SpfNode) -> str:
    """How many DNS-querying terms the record needs: the count, or "more than 10" when the
    walk stopped where an evaluator stops (the rest was never fetched)."""
    return f"more than {LOOKUP_LIMIT}" if tree.walk_stopped() else str(tree.lookup_terms())


def _evidence(found: SpfFacts) -> tuple[str, ...]:
    verdict = found.mailfrom
    if verdict is None:
        return (*found.tree.lines(),
                f"DNS-querying terms in the record and its includes: {_terms_needed(found.tree)} "
                f"of {LOOKUP_LIMIT} allowed")
    counts = (f"DNS lookups used: {verdict.lookups} of {LOOKUP_LIMIT} allowed; lookups that found "
              f"nothing: {verdict.void_lookups} of {VOID_LIMIT} allowed")
    decided = f"decided by: {verdict.mechanism}" if verdict.mechanism else ""
    return (*found.tree.lines(), counts, *([decided] if decided else []),
            f"pyspf: {verdict.result} ({visible(verdict.explanation, 200)})")


def _record_fix(found: SpfFacts) -> str:
    domain = found.tree.domain
    record = proposed_record(found.tree.record, found.ip)
    return (f"Publish this TXT record (replacing the current SPF record, if any):\n"
            f"  {domain}. 3600 IN TXT \"{visible(record, 600)}\"\n"
            "Keep everything else that sends for the domain (your provider's include:, a web "
            "shop, a newsletter service) in the record.")


def judge_spf(facts: Facts, found: SpfFacts) -> list[Finding]:
    """spf.pass / fail / softfail / neutral / none / permerror / temperror, plus the HELO check."""
    verdict = found.mailfrom
    if verdict is None:
        return judge_record(found) + ([] if found.helo is None else _judge_helo_spf(found.helo))
    domain, ip = verdict.domain, found.ip
    top = found.tree.lookup
    if top.outcome.is_failure and verdict.result == "temperror":
        problem = unanswered(top, f"the SPF record of {domain}")
        if problem:
            return [problem]
    evidence = _evidence(found)
    findings: list[Finding] = []
    result = verdict.result
    if result == "pass":
        findings.append(Finding(
            "spf.pass", Status.PASS, f"SPF of {domain} authorises {ip}",
            detail=(f"Receivers checking SPF for mail from {domain} sent by {ip} get 'pass' "
                    f"(decided by {visible(verdict.mechanism or 'the record', 200)})."),
            evidence=evidence))
        if found.tree.lookup_terms() > LOOKUP_LIMIT:
            findings.append(Finding(
                "spf.lookup-risk", Status.WARN,
                f"The SPF record of {domain} has {_terms_needed(found.tree)} terms that cost a "
                "DNS lookup",
                detail=(f"The limit is {LOOKUP_LIMIT}. This check passed because a match came "
                        "early, but mail from your other senders (listed further down) makes "
                        "receivers evaluate more of the record, hit the limit and get a "
                        "permerror."),
                fix=("Remove include: entries for services you no longer use, or replace a and "
                     "mx terms by ip4:/ip6: entries where the addresses are stable."),
                side=Side.YOU, evidence=evidence))
    elif result == "fail":
        findings.append(Finding(
            "spf.fail", Status.FAIL, f"SPF of {domain} does not allow {ip} to send its mail",
            detail=(f"The SPF record of {domain} ends in a hard fail for addresses it does not "
                    f"list, and {ip} is not listed. Receivers reject such mail ('550 5.7.23 SPF "
                    "validation failed'; Gmail '550-5.7.26 ... unauthenticated') or file it as "
                    "spam, and DMARC fails unless DKIM rescues it."),
            fix=_record_fix(found), side=Side.YOU, evidence=evidence))
    elif result in {"softfail", "neutral"}:
        meaning = ("marks it as probably not authorised (~all)" if result == "softfail"
                   else "says nothing either way (?all)")
        findings.append(Finding(
            f"spf.{result}", Status.WARN, f"SPF of {domain} does not vouch for {ip} ({result})",
            detail=(f"The record {meaning} for {ip}. Receivers rarely reject on this alone, but "
                    "such mail gets no credit from SPF, often lands in spam, and fails DMARC "
                    "unless DKIM passes."),
            fix=_record_fix(found), side=Side.YOU, evidence=evidence))
    elif result == "none":
        findings.append(Finding(
            "spf.none", Status.WARN, f"{domain} publishes no SPF record",
            detail=("Without SPF, receivers cannot tell whether your server may send for the "
                    "domain. Gmail and Yahoo require SPF or DKIM from every sender ('550-5.7.26', "
                    "Yahoo '554 5.7.9') and others treat such mail as suspicious."),
            fix=_record_fix(found), side=Side.YOU, evidence=evidence))
    elif result == "permerror":
        over = verdict.lookups > LOOKUP_LIMIT or "Too many DNS lookups" in verdict.explanation
        voids = "Void lookup" in verdict.explanation
        syntax = [p for node in _nodes(found.tree) if node.record for p in node.record.problems]
        if over:
            why = (f"Evaluating it needs more than {LOOKUP_LIMIT} DNS lookups (include, a, mx, "
                   "ptr, exists, redirect each count, and so does everything they include).")
            stopgap = proposed_record(found.tree.record, ip)
            fix = ("Reduce the lookups: remove include: entries for services you no longer use, "
                   "replace a and mx by ip4:/ip6: entries where the addresses are stable, or "
                   "ask a provider for a flatter include. As a stopgap, put your server's "
                   "address first: receivers stop at the first match, so mail from this server "
                   "then passes before the limit is reached (your other senders still fail):\n"
                   f"  {domain}. 3600 IN TXT \"{visible(stopgap, 600)}\"")
        elif voids:
            why = (f"More than {VOID_LIMIT} of its lookups found nothing (names that do not exist "
                   "or have no records): usually include: entries of services you left.")
            fix = "Remove the terms that point at names that no longer exist."
        else:
            listed = "; ".join(visible(p, 200) for p in syntax) or visible(verdict.explanation, 200)
            why = f"The record is malformed: {listed}."
            fix = "Correct the record. " + _record_fix(found)
        findings.append(Finding(
            "spf.permerror", Status.FAIL, f"The SPF record of {domain} is broken (permerror)",
            detail=(f"{why} Receivers treat a broken record like a failed check; many reject "
                    "the mail ('550 5.7.24 SPF validation error') and DMARC sees no SPF pass."),
            fix=fix, side=Side.YOU, evidence=evidence))
    else:  # temperror
        findings.append(Finding(
            "spf.temperror", Status.ERROR, f"The SPF check of {domain} hit a DNS error (temperror)",
            detail=("A lookup the record needs did not get an answer. Receivers that see the "
                    "same defer the mail ('451 4.4.3'), which delays it and bounces it after some "
                    f"days. {visible(verdict.explanation, 200)}"),
            fix=("Check that all name servers of the domains in the record answer (dig +trace), "
                 "and try again with another resolver (--resolver)."),
            side=Side.YOU, evidence=evidence))
    if found.helo is not None:
        findings += _judge_helo_spf(found.helo)
    return findings


def judge_record(found: SpfFacts) -> list[Finding]:
    """The record itself, without an address to evaluate: missing, malformed, more than ten
    DNS-querying terms (RFC 7208 §4.6.4, counted through includes and redirects), includes of
    domains without a record, loops — each a permerror for whoever evaluates that far — and
    the ``spf.not-evaluated`` note that says why no address was judged."""
    tree = found.tree
    domain = tree.domain
    top = tree.lookup
    problem = unanswered(top, f"the SPF record of {domain}") if top.outcome.is_failure else None
    if problem:
        return [problem]
    evidence = _evidence(found)
    skipped = Finding(
        "spf.not-evaluated", Status.INFO, f"Not checked: whether SPF of {domain} allows your address",
        detail=(f"This check did not run, because {found.not_evaluated or 'no address was given'}. "
                "The record itself was checked."), side=Side.NONE, evidence=evidence)
    if tree.record is None:
        return [skipped, Finding(
            "spf.none", Status.WARN, f"{domain} publishes no SPF record",
            detail=("Without SPF, receivers cannot tell which servers may send for the domain. "
                    "Gmail and Yahoo require SPF or DKIM from every sender ('550-5.7.26', Yahoo "
                    "'554 5.7.9') and others treat such mail as suspicious."),
            fix=(f"Publish a TXT record that lists your sending servers, e.g.\n"
                 f"  {domain}. 3600 IN TXT \"v=spf1 mx -all\""),
            side=Side.YOU, evidence=evidence)]
    faults: list[str] = []
    for node in _nodes(tree):
        where = "" if node is tree else f" (in {visible(node.domain, 200)}, reached by {node.via})"
        if node.record is not None:
            faults += [f"{visible(p, 200)}{where}" for p in node.record.problems]
        if node.problem and not node.problem.startswith("lookup failed"):
            faults.append(f"{visible(node.problem, 200)}{where}")
    count = tree.lookup_terms()
    if count > LOOKUP_LIMIT:
        faults.append(f"it needs {_terms_needed(tree)} DNS lookups where {LOOKUP_LIMIT} are "
                      "allowed")
    if faults:
        return [skipped, Finding(
            "spf.permerror", Status.FAIL, f"The SPF record of {domain} is broken (permerror)",
            detail=("Whatever address the mail comes from, a receiver that evaluates this record "
                    f"far enough stops with a permanent error: {'; '.join(faults)}. Receivers "
                    "treat that like a failed check; many reject the mail ('550 5.7.24 SPF "
                    "validation error') and DMARC sees no SPF pass."),
            fix=("Correct the record: remove include: entries for services you no longer use or "
                 "whose domain has no SPF record, replace a and mx by ip4:/ip6: entries where the "
                 "addresses are stable, and keep exactly one record starting with v=spf1."),
            side=Side.YOU, evidence=evidence)]
    return [skipped, Finding(
        "spf.record-ok", Status.PASS, f"The SPF record of {domain} is well-formed",
        detail=f"It uses {count} of the {LOOKUP_LIMIT} DNS lookups allowed.", evidence=evidence)]


def _nodes(node: SpfNode) -> list[SpfNode]:
    return [node, *(n for child in node.children for n in _nodes(child))]


def _judge_helo_spf(verdict: SpfVerdict) -> list[Finding]:
    name = visible(verdict.domain, 200)
    if verdict.result == "pass":
        return [Finding("spf.helo-pass", Status.PASS, f"SPF of the HELO name {name} authorises the IP",
                        detail="Bounces (sent with an empty MAIL FROM) are checked against this.")]
    if verdict.result in {"fail", "softfail", "permerror"}:
        return [Finding(
            "spf.helo-fail", Status.WARN, f"SPF of the HELO name {name} does not authorise the IP",
            detail=(f"Result '{verdict.result}'. Receivers check the HELO name's SPF for bounces "
                    "and delivery reports (empty MAIL FROM); those may be refused."),
            fix=f"Publish at the HELO name: {name}. IN TXT \"v=spf1 a -all\"", side=Side.YOU)]
    if verdict.result == "none":
        return [Finding(
            "spf.helo-none", Status.INFO, f"The HELO name {name} has no SPF record",
            detail=("Optional, but it helps bounces you send: receivers check the HELO name "
                    "when MAIL FROM is empty."),
            fix=f"Publish at the HELO name: {name}. IN TXT \"v=spf1 a -all\"", side=Side.YOU)]
    return []
