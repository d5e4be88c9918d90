"""Reconciliation: no finding may contradict what a server was seen to do in the same report.

Each rule judges one step, from what receivers *may* do: Postfix's reject_non_fqdn_helo_hostname,
Gmail's reverse-DNS check. The delivery rehearsal shows what the recipient's own server *did*
with the same HELO name from the same address. When that server accepted the sender and the
recipient, a rule that says "receivers refuse this" cannot stand as a failure for this send: the
finding stays, because stricter receivers do refuse, but it becomes a warning that says so and
shows the rehearsal's replies as its evidence. This pass runs after every rule has spoken, so the
rules stay simple and the report stays consistent.
"""

from __future__ import annotations

from dataclasses import replace

from mxwizard.core.findings import Finding, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import DELIVERY, HELO, IP, Rehearsal, Visit
from mxwizard.diagnosis.rules.smtp import decisive_reply
from mxwizard.diagnosis.tree import Facts

#: Findings about the HELO name that a receiver accepting that very name contradicts.
HELO_FAULTS = frozenset({"helo.not-fqdn", "helo.internal", "helo.unresolvable"})
#: Findings about the sending address that a receiver accepting that very address contradicts.
ADDRESS_FAULTS = frozenset({"rdns.missing", "rdns.fcrdns-fail"})


def _accepting_visit(rehearsal: Rehearsal) -> Visit | None:
    """The rehearsal's visit whose server said yes to MAIL and RCPT, if any."""
    for visit in rehearsal.visits:
        reply = decisive_reply(visit.final)
        if reply is not None and reply.positive:
            return visit
    return None


def _said(visit: Visit) -> tuple[str, ...]:
    """The evidence of an acceptance: each EHLO/HELO, MAIL and RCPT we sent with the server's
    final reply line to it (a long EHLO capability list is left out: it proves nothing here)."""
    out: list[str] = []
    waiting = False
    for line in visit.final.lines:
        if line.dir.value == "C":
            waiting = line.text[:4].upper() in {"EHLO", "HELO", "MAIL", "RCPT"}
            if waiting:
                out.append(f"{line.dir.arrow} {visible(line.text, 200)}")
        elif line.dir.value == "S" and waiting and line.text[3:4] != "-":
            out.append(f"{line.dir.arrow} {visible(line.text, 200)}")
            waiting = False
    return tuple(out)


def _soften(finding: Finding, visit: Visit, what: str) -> Finding:
    note = (f" However, the recipient's server {visit.host} accepted {what} in the delivery "
            "rehearsal (its replies are in the evidence), so it does not enforce this rule and "
            "this send is not refused for it. Stricter receivers do refuse it, which is why it "
            "is still worth fixing.")
    return replace(finding, status=Status.WARN, detail=finding.detail + note,
                   evidence=finding.evidence + _said(visit))


def reconcile_send(facts: Facts, findings: list[Finding]) -> list[Finding]:
    """Downgrade HELO and reverse-DNS failures that the rehearsal's acceptance contradicts."""
    rehearsal = facts.get(DELIVERY)
    visit = _accepting_visit(rehearsal) if rehearsal is not None else None
    if rehearsal is None or visit is None:
        return findings
    helo = facts.get(HELO)
    same_helo = helo is not None and helo.name.lower() == rehearsal.helo.lower()
    found_ip = facts.get(IP)
    judged = found_ip.address if found_ip is not None else None
    same_address = judged is not None and judged == facts.settings.source_ip
    out: list[Finding] = []
    for finding in findings:
        if finding.status is Status.FAIL and same_helo and finding.id in HELO_FAULTS:
            finding = _soften(finding, visit, f"the HELO name '{visible(rehearsal.helo, 100)}'")
        elif finding.status is Status.FAIL and same_address and finding.id in ADDRESS_FAULTS:
            finding = _soften(finding, visit, f"a connection from {judged}")
        out.append(finding)
    return out
