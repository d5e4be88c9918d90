"""The bounce explainer: a reply line, a whole bounce, a folder of bounces or a mail log, explained.

Layers, like the rest of mxwizard: :func:`parse_bounce` (in
:mod:`mxwizard.knowledge.bounce_parser`) turns text into a :class:`Bounce` (facts only: codes,
servers, recipients, the remote server's words, each recipient's own passage),
:func:`classify` (in :mod:`mxwizard.bounces.rules`) weighs one recipient's failure and says how
sure it is, and :func:`explain_bounce` turns that into a :class:`~mxwizard.diagnosis.result.
Diagnosis` with one finding per recipient for the report renderers. Mail logs go the same way
through :mod:`mxwizard.bounces.maillog`. All of these are pure and never raise on any input;
only :mod:`mxwizard.bounces.command` and :mod:`mxwizard.bounces.batch` do I/O. Bounce text is untrusted:
values shown in titles and details pass :func:`mxwizard.core.untrusted.visible`, and the raw text
goes only into ``evidence``, which the renderers sanitise.
"""

from __future__ import annotations

import re

from mxwizard.bounces.rules import Classification, classify
from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.knowledge.bounce_parser import (
    Bounce,
    RecipientReport,
    find_reply,
    parse_bounce,
)
from mxwizard.knowledge.bounces import (
    BOUNCE_CLASSES,
    BRANCH_LABELS,
    RDNS_OR_HELO,
    SEND_CHECK,
    UNKNOWN_ADVICE,
    fill,
)
from mxwizard.knowledge.replies import enhanced_meaning, meaning

__all__ = ["Bounce", "Classification", "RecipientReport", "classify", "exit_status", "explain_bounce",
           "explain_text", "find_reply", "parse_bounce", "send_check_values"]


# --- reporting ---------------------------------------------------------------------------------

_SAFE_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_SAFE_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$")
_SAFE_IP = re.compile(r"^[0-9a-fA-F.:]{2,45}$")


def _safe(address: str | None) -> str | None:
    """An address fit to put into a suggested command, or None."""
    return address if address and _SAFE_ADDRESS.match(address) else None


def _safe_name(name: str | None) -> str | None:
    return name.rstrip(".").lower() if name and _SAFE_NAME.match(name.rstrip(".")) else None


def _helo_of(bounce: Bounce, klass: str | None) -> str | None:
    """The HELO name to test: the one a refusal quotes, else (for a HELO/rDNS refusal) the name of
    the server that reported the bounce, which is the one that talked to the receiver."""
    if bounce.helo:
        return _safe_name(bounce.helo)
    if klass == RDNS_OR_HELO and bounce.reporting_mta:
        return _safe_name(bounce.reporting_mta.split()[0])
    return None


def send_check_values(diagnosis: Diagnosis) -> dict[str, str]:
    """The send form's values (sender, recipient, ip, helo) that an explained bounce named."""
    target = diagnosis.target
    names = {"from": "sender", "to": "recipient", "ip": "ip", "helo": "helo"}
    return {field: str(target[key]) for key, field in names.items() if target.get(key)}


def _facts(bounce: Bounce, report: RecipientReport, verdict: Classification) -> list[str]:
    out = []
    if report.recipient:
        out.append(f"Recipient: {visible(report.recipient, 200)}")
    if report.original_recipient and report.original_recipient != report.recipient:
        out.append(f"Originally addressed to: {visible(report.original_recipient, 200)}")
    if report.diagnostic:
        out.append(f"The server said: {visible(report.diagnostic, 400)}")
    if report.code is not None:
        out.append(f"Reply code {report.code}: {meaning(report.code, '').note}.")
    for label, value in (("Enhanced code", report.enhanced), ("DSN status", report.status)):
        if value and (label == "Enhanced code" or value != report.enhanced):
            out.append(f"{label} {visible(value, 20)}: {enhanced_meaning(value)}")
    if report.action:
        out.append(f"Action: {visible(report.action, 40)}")
    if report.remote_mta:
        answered = f" (in reply to {visible(report.command, 40)})" if report.command else ""
        out.append(f"Refused by: {visible(report.remote_mta, 200)}{answered}")
    if bounce.reporting_mta:
        out.append(f"Reported by: {visible(bounce.reporting_mta, 200)}")
    if bounce.format:
        out.append(f"Bounce format: {bounce.format}")
    if verdict.provider and verdict.provider not in verdict.why:
        out.append(f"Wording of: {verdict.provider}")
    return out


def _next_step(name: str, verdict: Classification, you: str | None, them: str | None,
               ip: str | None, helo: str | None) -> str:
    known = BOUNCE_CLASSES[name]
    command, branch = known.command(you, them, ip, helo), known.branch
    if verdict.side == "you" and known.side != "you":
        command, branch = fill(SEND_CHECK, you, them, ip, helo), "send"
    where = f"in the wizard choose '{BRANCH_LABELS[branch]}', or run:" if branch in BRANCH_LABELS \
        else "if it does not clear up by itself, run:"
    return f"Next step: {where}\n  {command}"


def _finding(bounce: Bounce, report: RecipientReport, verdict: Classification) -> Finding:
    evidence = tuple(line[:2000] for line in report.evidence[:12])
    facts = _facts(bounce, report, verdict)
    who = f" ({visible(report.recipient, 120)})" if report.recipient else ""
    if verdict.bounce_class is None:
        return Finding(
            "bounce.unknown", Status.ERROR, f"The reason for this bounce could not be recognised{who}",
            detail="\n".join(["It is not one of the rejections this tool knows."
                              + (" It is a permanent failure." if verdict.permanent and report.code
                                 else ""), *facts]),
            fix=UNKNOWN_ADVICE, side=Side.NONE, evidence=evidence, step="explain",
        )
    known = BOUNCE_CLASSES[verdict.bounce_class]
    title = known.title
    lines = [known.explanation]
    if verdict.underlying:
        last = BOUNCE_CLASSES[verdict.underlying]
        title = f"{title} (last error: {last.title[0].lower()}{last.title[1:]})"
        lines.append(f"The last error before it gave up: {verdict.reason or last.explanation}")
    elif verdict.reason:
        lines.append(f"What this text means: {verdict.reason}")
    if verdict.made_final:
        lines.append("The status code says the error itself was temporary (4.x.x), yet the sending "
                     "server gave up on this recipient at once and will not retry: treat it as "
                     "final, not as a message that sat in the queue for days.")
    if verdict.gave_up:
        lines.append("The sending server kept retrying until its time ran out, and this is the "
                     "error it got every time: it is what needs fixing, not the queue.")
    if not verdict.permanent:
        title += " - delayed, still retrying"
        lines.append("This is a temporary failure: the message is still in the sending server's "
                     "queue and will be retried; no need to send it again.")
    if verdict.why:
        lines.append(f"How sure: {verdict.confidence} - {verdict.why}.")
    lines += ["", "What the bounce says:", *facts]
    you, them = _safe(bounce.sender), _safe(report.recipient)
    ip = bounce.client_ip if bounce.client_ip and _SAFE_IP.match(bounce.client_ip) else None
    step = _next_step(verdict.bounce_class, verdict, you, them, ip, _helo_of(bounce, verdict.bounce_class))
    fix = f"{known.fix}\n{step}"
    return Finding(f"bounce.{verdict.bounce_class}", Status.FAIL if verdict.permanent else Status.WARN,
                   title + who, detail="\n".join(lines), fix=fix, side=Side(verdict.side),
                   evidence=evidence, step="explain")


def _reply_finding(report: RecipientReport) -> Finding:
    code = report.code or 0
    known = meaning(code, f"{report.enhanced or ''} {report.diagnostic or ''}".strip())
    success = known.klass == "success"
    return Finding(f"reply.{known.klass}", Status.PASS if success else Status.INFO,
                   f"Not a failure: {known.note}", detail=known.explanation, side=Side.NONE,
                   evidence=report.evidence, step="explain")


def _no_reason(text: str) -> Finding:
    return Finding(
        "bounce.unknown", Status.ERROR, "No SMTP reply or bounce reason was found",
        detail="The input holds no reply code, enhanced status code, delivery status report "
               "or known rejection text.",
        fix=UNKNOWN_ADVICE, side=Side.NONE,
        evidence=tuple(line[:2000] for line in text.strip().splitlines()[:5]), step="explain")


def explain_bounce(bounce: Bounce, text: str = "") -> Diagnosis:
    """The diagnosis of a parsed bounce: one finding per recipient."""
    findings: list[Finding] = []
    verdicts: list[Classification] = []
    for report in bounce.recipients:
        if bounce.kind == "reply" and report.code is not None and report.code < 400:
            findings.append(_reply_finding(report))
        elif report.action in ("delivered", "relayed", "expanded"):
            findings.append(Finding(
                "bounce.delivered", Status.PASS,
                f"Delivered ({visible(report.action, 20)}): {visible(report.recipient or '?', 200)}",
                detail="The report says this recipient's copy was passed on successfully.",
                step="explain"))
        else:
            verdict = classify(report, bounce.body, bounce.fingerprints)
            verdicts.append(verdict)
            findings.append(_finding(bounce, report, verdict))
    if bounce.more_recipients:
        findings.append(Finding(
            "bounce.more-recipients", Status.INFO,
            f"{bounce.more_recipients} more recipients were not read",
            detail=f"This bounce names more recipients than the {len(bounce.recipients)} read here.",
            step="explain"))
    if not findings:
        findings.append(_no_reason(text))
    first = bounce.recipients[0] if bounce.recipients else None
    if bounce.kind == "reply" and first is not None:
        shown = f"the reply {visible(first.diagnostic or '', 80)}"
    else:
        who = first.recipient if first and first.recipient else None
        shown = f"{bounce.format} bounce" if bounce.format else "bounce"
        shown += (f" for {visible(who, 120)}" if who else "")
        if len(bounce.recipients) > 1:
            shown += f" and {len(bounce.recipients) - 1} more"
    target: dict[str, str] = {"shown": shown}
    klass = next((v.bounce_class for v in verdicts if v.bounce_class), None)
    named = {"from": _safe(bounce.sender), "to": _safe(first.recipient) if first else None,
             "ip": bounce.client_ip if bounce.client_ip and _SAFE_IP.match(bounce.client_ip) else None,
             "helo": _helo_of(bounce, klass)}
    target.update({key: value for key, value in named.items() if value})
    return Diagnosis(kind="explain", target=target, findings=findings)


def exit_status(diagnosis: Diagnosis) -> int:
    """Like ``check``: 1 when something failed, 3 when nothing could be recognised, else 0."""
    return diagnosis.exit_status


def explain_text(text: str) -> tuple[Diagnosis, int]:
    """The diagnosis for a reply line, a bounce or mail log lines, and the exit status."""
    from mxwizard.bounces import maillog

    if maillog.looks_like_log(text):
        diagnosis = maillog.explain_log(text)
    else:
        diagnosis = explain_bounce(parse_bounce(text), text)
    return diagnosis, exit_status(diagnosis)
