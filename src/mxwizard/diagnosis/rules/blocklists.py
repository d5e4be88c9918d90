"""Rules for blocklists: is the sending address (or the sender's domain) listed, and can we trust
the answer?

Three different things come back from a blocklist and must not be confused: a listing (an
address in 127.0.0.0/8, whose last octet says why), a refusal (127.255.255.x, or the list's own
"not allowed" code: the query went through a resolver the list blocks, typically a big public
one) and a broken answer (the RFC 5782 self-test fails: the list no longer lists 127.0.0.2, or
lists everything, or the resolver rewrites "no such name" into an address). Only the first is
about the user's server, and only a zone that passes its self-test can say it.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import BlocklistFacts
from mxwizard.diagnosis.tree import Facts
from mxwizard.knowledge.blocklists import (
    FIRST_FIX,
    Blocklist,
    ListKind,
    blocklist,
    is_listing_address,
    is_refusal,
)
from mxwizard.probes.blocklists import BlocklistSweep, ZoneAnswer
from mxwizard.probes.dns import Lookup, Outcome
from mxwizard.render.dnsview import dig_command


def _shown(lookup: Lookup) -> str:
    values = " ".join(str(v) for v in lookup.values("A")) or lookup.outcome.value
    return f"{dig_command(lookup)}  -> {values}"


def _refusals(zone: ZoneAnswer, bl: Blocklist) -> list[str]:
    answers = [str(v) for lk in (zone.query, zone.test_listed, zone.test_clean)
               if lk is not None and lk.outcome is Outcome.ANSWER for v in lk.values("A")]
    return [a for a in answers if is_refusal(bl, a)]


def _self_test_problem(zone: ZoneAnswer, kind: ListKind) -> str:
    """Why the zone's RFC 5782 self-test failed ("" when it passed)."""
    must_not = "127.0.0.1" if kind is ListKind.IP else "invalid"
    listed = [str(v) for v in zone.test_listed.values("A")]
    clean = zone.test_clean
    if zone.test_listed.outcome.is_failure or (clean is not None and clean.outcome.is_failure):
        return "the list's server did not answer the test queries"
    if not any(is_listing_address(a) for a in listed):
        return ("its test entry is not listed: the list is dead, renamed, or blocks your "
                "resolver")
    if clean is not None and clean.outcome is Outcome.ANSWER:
        return (f"{must_not} is listed although it never may be: the list answers everything "
                "(a dead list that lists the world), or your resolver rewrites 'no such name'")
    return ""


def _listing(subject: str, zone: ZoneAnswer, bl: Blocklist, kind: ListKind) -> Finding:
    codes = [bl.decode(a) for a in zone.answers if is_listing_address(a)]
    code = codes[0]
    labels = ", ".join(sorted({c.label for c in codes}))
    reasons = [visible(r, 300) for r in zone.reasons]
    said = f" The list says: \"{reasons[0]}\"" if reasons else ""
    what = "address" if kind is ListKind.IP else "domain"
    removal = f"\nRemoval (after the fix): {bl.removal}" if bl.removal else ""
    note = f" {bl.note}" if bl.note else ""
    ident = "dnsbl.listed" if kind is ListKind.IP else "dnsbl.domain-listed"
    return Finding(
        ident, Status.FAIL, f"{subject} is listed on {bl.name} ({labels})",
        detail=(f"{bl.name} ({bl.zone}) answered {', '.join(zone.answers)}: {code.meaning}{said} "
                f"Receivers that use this list refuse mail from a listed {what}, typically with "
                f"a 5xx reply naming the list (Yahoo '553 5.7.1 [BL21]', Postfix '554 5.7.1 "
                f"Service unavailable; Client host blocked using {bl.zone}').{note}"),
        fix=f"{FIRST_FIX[code.cause]}{removal}",
        side=Side.YOU,
        evidence=(_shown(zone.query), *(f"TXT: {r}" for r in reasons)))


def judge_sweep(sweep: BlocklistSweep, default_set: bool) -> list[Finding]:
    """The findings for one sweep: listings, refusals, broken zones, the clean result."""
    findings: list[Finding] = []
    refused: list[tuple[ZoneAnswer, list[str]]] = []
    broken: list[tuple[ZoneAnswer, str]] = []
    silent: list[ZoneAnswer] = []
    clean: list[ZoneAnswer] = []
    for zone in sweep.zones:
        bl = blocklist(zone.zone)
        if zone.query.outcome.is_failure:
            silent.append(zone)
            continue
        refusals = _refusals(zone, bl)
        if refusals:
            refused.append((zone, refusals))
            continue
        problem = _self_test_problem(zone, sweep.kind)
        if problem:
            broken.append((zone, problem))
            continue
        if any(is_listing_address(a) for a in zone.answers):
            findings.append(_listing(sweep.subject, zone, bl, sweep.kind))
        else:
            clean.append(zone)
    if refused:
        zones = ", ".join(z.zone for z, _ in refused)
        findings.append(Finding(
            "dnsbl.resolver-refused", Status.WARN, f"Blocklists refused to answer your resolver ({zones})",
            detail=("They answered with an error code, not a listing: these lists do not answer "
                    "queries that come through large public resolvers (8.8.8.8, 1.1.1.1, 9.9.9.9) "
                    "or that exceed their free limits. We cannot tell from here whether "
                    f"{sweep.subject} is listed on them. If your mail server filters incoming "
                    "mail with these lists through the same resolver, that filter does nothing."),
            fix=("Use a resolver of your own (unbound or bind on the mail server itself) and run "
                 "the check again with --resolver 127.0.0.1."),
            side=Side.YOU,
            evidence=tuple(f"{z.zone}: {', '.join(codes)}" for z, codes in refused)))
    for zone, problem in broken:
        findings.append(Finding(
            "dnsbl.zone-broken", Status.WARN, f"The blocklist {zone.zone} fails its self-test",
            detail=(f"Every working list must list the test entry and must not list the "
                    f"never-listed entry (RFC 5782). Here {problem}, so its answer about "
                    f"{sweep.subject} means nothing and was ignored."),
            fix=(f"If your own server uses {zone.zone} to filter incoming mail, remove it from the "
                 "configuration; a list that answers everything rejects all your mail."),
            side=Side.THEM, evidence=tuple(_shown(lk) for lk in (zone.test_listed, zone.test_clean)
                                           if lk is not None)))
    if silent:
        total = len(sweep.zones)
        findings.append(Finding(
            "dnsbl.unanswered", Status.ERROR if len(silent) == total else Status.INFO,
            f"{len(silent)} of {total} blocklists did not answer",
            detail=("No usable answer came from: " + ", ".join(z.zone for z in silent)
                    + ". Their verdict is unknown."),
            fix="Run the check again later, or with another resolver (--resolver).",
            side=Side.NETWORK, evidence=tuple(_shown(z.query) for z in silent)))
    listed = [f for f in findings if f.status is Status.FAIL]
    if clean and not listed:
        what = "address" if sweep.kind is ListKind.IP else "domain"
        scope = "the default set of lists" if default_set else "the lists you gave"
        findings.insert(0, Finding(
            "dnsbl.ok" if sweep.kind is ListKind.IP else "dnsbl.domain-ok", Status.PASS,
            f"{sweep.subject} is on none of {len(clean)} blocklists",
            detail=(f"The {what} was looked up on {scope}: " + ", ".join(z.zone for z in clean)
                    + ". Note that big providers also keep private lists (Microsoft's S3140 "
                    "block, for instance) that no public query can see."),
            evidence=tuple(_shown(z.query) for z in clean)))
    return findings


def judge_blocklists(facts: Facts, found: BlocklistFacts) -> list[Finding]:
    """Blocklist findings for the sending IP and, with the default set, the sender domain."""
    default_set = facts.settings.dnsbl_zones is None
    findings: list[Finding] = []
    for sweep in (found.ip, found.domain):
        if sweep is not None and sweep.zones:
            findings += judge_sweep(sweep, default_set)
    return findings
