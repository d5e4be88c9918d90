"""Rules for TLS-RPT (RFC 8460): will senders tell the domain when TLS to its MX hosts fails?

A missing or broken record never stops mail; it only leaves the domain blind to the senders that
could not deliver over TLS (or, with MTA-STS enforce or DANE, could not deliver at all). So the
findings are notes and warnings, never failures.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.probes.tls_rpt import TlsRptFacts
from mxwizard.render.dnsview import dig_command


def rpt_fix(domain: str) -> str:
    """The record to publish (reports to a mailbox of the domain)."""
    return ("Publish one TXT record naming where the daily reports go (a mailbox, or an https: "
            "address of a report service):\n"
            f"  _smtp._tls.{domain}. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}\"")


def _evidence(facts: TlsRptFacts) -> tuple[str, ...]:
    texts = facts.lookup.texts() if facts.lookup.outcome.value == "NOERROR" else []
    shown = [visible(f"_smtp._tls.{facts.domain} TXT \"{t}\"", 300) for t in texts[:6]]
    return (dig_command(facts.lookup), *(shown or [facts.lookup.outcome.value]))


def judge_tls_rpt(facts: TlsRptFacts) -> list[Finding]:
    """tls-rpt.ok, tls-rpt.none, tls-rpt.multiple or tls-rpt.invalid."""
    domain = facts.domain
    if facts.lookup.outcome.is_failure:
        problem = unanswered(facts.lookup, f"the TLS-RPT record of {domain}")
        return [problem] if problem else []
    if not facts.records:
        return [Finding(
            "tls-rpt.none", Status.INFO, f"{domain} asks for no TLS reports (TLS-RPT)",
            detail=("Senders that support TLS-RPT (Google, Microsoft and others) send a daily "
                    "report of TLS failures with your MX hosts to the address in this record. "
                    "Without it you do not learn when encryption fails, which matters most with "
                    "MTA-STS or DANE."),
            fix=rpt_fix(domain), side=Side.NONE, evidence=_evidence(facts))]
    if len(facts.records) > 1:
        return [Finding(
            "tls-rpt.multiple", Status.WARN, f"{domain} has {len(facts.records)} TLS-RPT records",
            detail=("With more than one v=TLSRPTv1 record, senders must assume there is none "
                    "(RFC 8460 §3): no reports are sent. Put every address into one record."),
            fix=rpt_fix(domain), side=Side.YOU, evidence=_evidence(facts))]
    record = facts.record
    if record is None or not record.valid:
        problems = record.problems if record is not None else ("it could not be read",)
        return [Finding(
            "tls-rpt.invalid", Status.WARN, f"The TLS-RPT record of {domain} is malformed",
            detail=("Senders ignore it, so no reports arrive: "
                    + "; ".join(visible(p, 200) for p in problems[:6]) + "."),
            fix=rpt_fix(domain), side=Side.YOU, evidence=_evidence(facts))]
    where = ", ".join(visible(u, 200) for u in record.rua)
    return [Finding("tls-rpt.ok", Status.PASS, f"TLS reports for {domain} go to {where}",
                    detail="Senders that support TLS-RPT send a daily report of TLS results.",
                    evidence=_evidence(facts))]
