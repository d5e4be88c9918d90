"""Rules for DMARC: what the From domain asks receivers to do, and whether this send passes it.

DMARC passes when SPF passes for a MAIL FROM domain that aligns with the From domain, or a DKIM
signature verifies for a d= domain that aligns with it ("aligns": the same organisational
domain, or exactly the same name when the record says aspf=s / adkim=s). A perfectly valid SPF
pass for another domain does not count — the classic surprise of newsletter services and
forwarding.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import DKIM, DMARC, SPF
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dkim import KeyState, Verdict
from mxwizard.probes.dmarc import DmarcFacts, aligned
from mxwizard.render.dnsview import dig_command

_REJECTIONS = ("Gmail answers '550-5.7.26 Unauthenticated email from DOMAIN is not accepted due "
               "to domain's DMARC policy', Outlook '550 5.7.509 Access denied, sending domain "
               "does not pass DMARC verification', Yahoo '554 5.7.9 Message not accepted for "
               "policy reasons'.")


def _evidence(found: DmarcFacts) -> tuple[str, ...]:
    out: list[str] = []
    for lookup in found.lookups:
        out.append(dig_command(lookup))
        out += [visible(r.zone_line(), 400) for r in lookup.answer] or [f"  {lookup.outcome.value}"]
    return tuple(out)


def judge_dmarc_record(facts: Facts, found: DmarcFacts) -> list[Finding]:
    """dmarc.none, dmarc.malformed, dmarc.policy-none or dmarc.policy (the record is in force)."""
    failed = found.failed_lookup
    if failed is not None:
        problem = unanswered(failed, f"the DMARC record of {found.domain}")
        if problem:
            return [problem]
    evidence = _evidence(found)
    suggested = (f"  _dmarc.{found.organisational}. 3600 IN TXT \"v=DMARC1; p=none; "
                 f"rua=mailto:dmarc-reports@{found.organisational}\"\n"
                 "Start with p=none and read the aggregate reports (rua) for a few weeks; once "
                 "all your mail passes, move to p=quarantine, then p=reject.")
    if found.record is None or found.several:
        several = (" There is more than one DMARC record, and receivers then ignore them all."
                   if found.several else "")
        return [Finding(
            "dmarc.none", Status.WARN, f"{found.domain} has no DMARC record",
            detail=("DMARC tells receivers what to do with mail that fails SPF and DKIM for your "
                    "domain and sends you reports about who sends in its name. Gmail and Yahoo "
                    "require it from bulk senders, and it makes spoofing your domain harder."
                    + several),
            fix="Publish one, for example:\n" + suggested, side=Side.YOU, evidence=evidence)]
    record = found.record
    where = f" (found at the organisational domain {found.found_at})" \
        if found.found_at != found.domain else ""
    if record.problems:
        return [Finding(
            "dmarc.malformed", Status.WARN, f"The DMARC record of {found.found_at} has errors",
            detail=("Receivers may ignore a broken record: " + "; ".join(
                visible(p, 200) for p in record.problems) + "."),
            fix="Correct it, for example:\n" + suggested, side=Side.YOU, evidence=evidence)]
    if record.policy == "none":
        return [Finding(
            "dmarc.policy-none", Status.INFO, f"DMARC for {found.domain} only monitors (p=none){where}",
            detail=("Receivers send reports but do nothing special with mail that fails. That is "
                    "the right first step, but it does not protect the domain from spoofing."),
            fix=("Once the reports show that all your legitimate mail passes, change to "
                 "p=quarantine and later p=reject."),
            side=Side.YOU, evidence=evidence)]
    return [Finding(
        "dmarc.policy", Status.PASS, f"DMARC for {found.domain}: p={record.policy}{where}",
        detail=(f"Receivers {'reject' if record.policy == 'reject' else 'quarantine'} mail that "
                f"fails DMARC (pct={record.percent})."),
        evidence=evidence)]


def judge_alignment(facts: Facts, from_domain: str) -> list[Finding]:
    """dmarc.ok, dmarc.depends-on-dkim or dmarc.unaligned for this send."""
    dmarc = facts[DMARC]
    record = dmarc.record
    if record is None or dmarc.several:
        return []
    spf = facts.get(SPF)
    dkim = facts.get(DKIM)
    if dkim is not None and dkim.message is not None and dkim.message.from_domain:
        from_domain = dkim.message.from_domain
    lines: list[str] = []
    spf_ok = False
    spf_known = spf is not None and spf.mailfrom is not None
    if spf is not None and spf.mailfrom is not None:
        verdict = spf.mailfrom
        same = aligned(verdict.domain, from_domain, record.strict_spf)
        spf_ok = verdict.result == "pass" and same
        lines.append(f"SPF: {verdict.result} for {verdict.domain} "
                     f"({'aligned' if same else 'not aligned'} with From {from_domain})")
    dkim_ok = False
    dkim_possible = False
    if dkim is not None and dkim.message is not None:
        for check in dkim.message.signatures:
            same = aligned(check.domain, from_domain, record.strict_dkim)
            dkim_ok = dkim_ok or (check.verdict is Verdict.VALID and same)
            lines.append(f"DKIM: {check.verdict.value} for d={visible(check.domain, 200)} "
                         f"({'aligned' if same else 'not aligned'})")
    if dkim is not None and dkim.key is not None:
        same = aligned(dkim.key.domain, from_domain, record.strict_dkim)
        dkim_possible = dkim.key.state is KeyState.OK and same
        lines.append(f"DKIM key {visible(dkim.key.name, 200)}: {dkim.key.state.value}")
    evidence = (f"From domain (header): {from_domain}", *lines)
    if spf_ok or dkim_ok:
        how = " and ".join(w for w, ok in (("SPF", spf_ok), ("DKIM", dkim_ok)) if ok)
        return [Finding("dmarc.ok", Status.PASS, f"This send passes DMARC for {from_domain} ({how})",
                        detail=f"{how} passes for a domain aligned with the From domain.",
                        evidence=evidence)]
    if dkim_possible:
        return [Finding(
            "dmarc.depends-on-dkim", Status.WARN, f"DMARC for {from_domain} rests on DKIM alone",
            detail=("SPF does not pass for an aligned domain, so DMARC passes only if your server "
                    "really signs every message with the key we found. Check a sent message "
                    "(--message) to be sure."),
            fix="Also authorise your server's address in SPF (see the SPF finding).",
            side=Side.YOU, evidence=evidence)]
    if not spf_known:  # DKIM alone did not pass, and SPF could not be judged: no verdict
        return [Finding(
            "dmarc.not-evaluated", Status.INFO,
            f"Not checked: whether this send passes DMARC for {from_domain}",
            detail=("This check did not run to the end, because SPF could not be evaluated for "
                    f"your address ({spf.not_evaluated if spf is not None else 'no SPF result'})"
                    " and no valid DKIM signature aligned with the From domain was found."),
            side=Side.NONE, evidence=evidence)]
    enforced = record.policy in {"quarantine", "reject"} and record.percent > 0
    action = {"reject": "rejected", "quarantine": "put in the spam folder"}.get(record.policy, "")
    consequence = (f"The domain's policy is p={record.policy}, so receivers will have this mail "
                   f"{action}. {_REJECTIONS.replace('DOMAIN', from_domain)}") if enforced else \
        "The policy is p=none, so nothing happens yet, but the reports will show the failure."
    return [Finding(
        "dmarc.unaligned", Status.FAIL if enforced else Status.WARN,
        f"This send fails DMARC for {from_domain}: neither SPF nor DKIM aligns",
        detail=("DMARC needs SPF to pass for the From domain (or one in the same organisation), "
                f"or a valid DKIM signature by it. Neither holds here. {consequence}"),
        fix=("Authorise your server's address in the SPF record of the From domain, and sign "
             "with DKIM as the From domain (d=" + from_domain + "). Either one fixes DMARC; "
             "both make it robust against forwarding."),
        side=Side.YOU, evidence=evidence)]
