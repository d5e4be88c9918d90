"""The bounce explainer: parses a reply line or a whole bounce (RFC 3464 DSN or free text),
classifies its reason, says whose side it is on and which check to run next.

Three layers, like the rest of mxwizard: :func:`parse_bounce` (in
:mod:`mxwizard.knowledge.bounce_parser`) turns text into a :class:`Bounce` (facts only: reply
code, enhanced code, servers, recipients, diagnostic text), :func:`classify`
judges one recipient's failure against the knowledge base (:mod:`mxwizard.knowledge`), and
:func:`explain_text` turns that into a :class:`~mxwizard.diagnosis.result.Diagnosis` for the
report renderers. All three are pure and never raise on any input; only
:func:`explain_command` does I/O. Bounce text is untrusted: values shown in titles and details
pass :func:`mxwizard.untrusted.visible`, and the raw text goes only into ``evidence``, which the
renderers sanitise.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from mxwizard.diagnosis.findings import Finding, Side, Status
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.knowledge.bounce_parser import MAX_INPUT, Bounce, RecipientReport, find_reply, parse_bounce
from mxwizard.knowledge.bounces import BOUNCE_CLASSES, UNKNOWN_ADVICE
from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.replies import enhanced_meaning, meaning
from mxwizard.knowledge.signatures import Signature, class_for_enhanced, provider_of, recognise
from mxwizard.untrusted import visible

__all__ = ["Bounce", "Classification", "RecipientReport", "classify", "explain_command", "explain_text",
           "find_reply", "parse_bounce"]

EXIT_EXPLAINED, EXIT_USAGE, EXIT_UNCLASSIFIED = 0, 2, 3


@dataclass(frozen=True)
class Classification:
    """The judgement on one recipient's failure."""

    bounce_class: str | None
    side: str
    permanent: bool
    #: What the recognised text itself means (a provider's wording), if anything specific.
    reason: str = ""
    provider: str | None = None
    #: For an expired message: the class of the last temporary error, if known.
    underlying: str | None = None


# --- judging -----------------------------------------------------------------------------------


def _specific(enhanced: str | None) -> bool:
    parts = split(enhanced) if enhanced else None
    return parts is not None and parts[1:] != (0, 0)


@functools.lru_cache(maxsize=32)
def _recognise_body(code: int | None, enhanced: str | None, body: str) -> Signature | None:
    """The signature of a bounce's whole text; every recipient of a bounce shares the same body."""
    return recognise(code, enhanced, body)


@functools.lru_cache(maxsize=32)
def _provider_of_body(body: str) -> str | None:
    return provider_of(body)


def classify(report: RecipientReport, body: str = "") -> Classification:
    """Judge one recipient's failure: the bounce class, the side, and whether it is final.

    The remote server's own words count most, then its enhanced status code, then the wording
    of the bounce around it, then the DSN Status field. A message that failed after only
    temporary errors has expired in the queue; the last error is kept as ``underlying``.
    """
    code, text = report.code, report.diagnostic or ""
    enhanced = report.enhanced if _specific(report.enhanced) or not _specific(report.status) \
        else report.status
    klass: str | None = None
    side: str | None = None
    reason, provider = "", None
    signature = recognise(code, enhanced, text) if text else None
    if signature is None:
        by_code = class_for_enhanced(report.enhanced) or class_for_enhanced(report.status)
        if by_code is not None:
            klass, side = by_code
        elif body and body.strip() != text.strip():
            signature = _recognise_body(code, enhanced, body)
    if signature is not None:
        klass, side, provider = signature.bounce_class, signature.side, signature.provider
        reason = signature.explanation if signature.adds_detail else ""
    if klass is None and code in (521, 556):
        klass = "host-unknown"
    provider = provider or provider_of(text) or (_provider_of_body(body) if body else None)

    first = split(report.enhanced or report.status or "") if (report.enhanced or report.status) else None
    digit = code // 100 if code else (first[0] if first else None)
    if report.action == "failed":
        permanent = True
    elif report.action == "delayed":
        permanent = False
    else:
        permanent = digit != 4
    underlying = None
    status_parts = split(report.status) if report.status else None
    status_digit = status_parts[0] if status_parts else None
    temporary_cause = digit == 4 or (digit is None and status_digit == 4)
    if report.action == "failed" and temporary_cause and klass != "expired":
        underlying, klass, side = klass, "expired", None
    if klass is None:
        return Classification(None, "none", permanent, reason, provider)
    side = side or BOUNCE_CLASSES[klass].side
    return Classification(klass, side, permanent, reason, provider, underlying)


# --- reporting ---------------------------------------------------------------------------------

_SAFE_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def _safe(address: str | None) -> str | None:
    """An address fit to put into a suggested command, or None."""
    return address if address and _SAFE_ADDRESS.match(address) else None


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
    if verdict.provider:
        out.append(f"Wording recognised: {verdict.provider}")
    return out


def _next_step(name: str, verdict: Classification, you: str | None, them: str | None) -> str:
    from mxwizard.knowledge.bounces import BRANCH_LABELS, SEND_CHECK, fill

    known = BOUNCE_CLASSES[name]
    command, branch = known.command(you, them), known.branch
    if verdict.side == "you" and known.side != "you":
        command, branch = fill(SEND_CHECK, you, them), "send"
    where = f"in the wizard choose '{BRANCH_LABELS[branch]}', or run:" if branch in BRANCH_LABELS \
        else "if it does not clear up by itself, run:"
    return f"Next step: {where}\n  {command}"


def _finding(bounce: Bounce, report: RecipientReport, verdict: Classification) -> Finding:
    evidence = tuple(line[:2000] for line in report.evidence[:12])
    facts = _facts(bounce, report, verdict)
    if verdict.bounce_class is None:
        return Finding(
            "bounce.unknown", Status.ERROR, "The reason for this bounce could not be recognised",
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
    if not verdict.permanent:
        title += " - delayed, still retrying"
        lines.append("This is a temporary failure: the message is still in the sending server's "
                     "queue and will be retried; no need to send it again.")
    lines += ["", "What the bounce says:", *facts]
    you, them = _safe(bounce.sender), _safe(report.recipient)
    fix = f"{known.fix}\n{_next_step(verdict.bounce_class, verdict, you, them)}"
    return Finding(f"bounce.{verdict.bounce_class}", Status.FAIL if verdict.permanent else Status.WARN,
                   title, detail="\n".join(lines), fix=fix, side=Side(verdict.side),
                   evidence=evidence, step="explain")


def _reply_finding(report: RecipientReport) -> Finding:
    code = report.code or 0
    known = meaning(code, f"{report.enhanced or ''} {report.diagnostic or ''}".strip())
    success = known.klass == "success"
    return Finding(f"reply.{known.klass}", Status.PASS if success else Status.INFO,
                   f"Not a failure: {known.note}", detail=known.explanation, side=Side.NONE,
                   evidence=report.evidence, step="explain")


def explain_text(text: str) -> tuple[Diagnosis, int]:
    """The diagnosis for a reply line or bounce, and the exit status (0 explained, 3 unknown)."""
    bounce = parse_bounce(text)
    findings: list[Finding] = []
    for report in bounce.recipients[:20]:
        if bounce.kind == "reply" and report.code is not None and report.code < 400:
            findings.append(_reply_finding(report))
        elif report.action in ("delivered", "relayed", "expanded"):
            findings.append(Finding(
                "bounce.delivered", Status.PASS,
                f"Delivered ({visible(report.action, 20)}): {visible(report.recipient or '?', 200)}",
                detail="The report says this recipient's copy was passed on successfully.",
                step="explain"))
        else:
            findings.append(_finding(bounce, report, classify(report, bounce.body)))
    if not findings:
        findings.append(Finding(
            "bounce.unknown", Status.ERROR, "No SMTP reply or bounce reason was found",
            detail="The input holds no reply code, enhanced status code, delivery status report "
                   "or known rejection text.",
            fix=UNKNOWN_ADVICE, side=Side.NONE,
            evidence=tuple(line[:2000] for line in text.strip().splitlines()[:5]), step="explain"))
    main = next((f for f in findings if f.status is not Status.PASS), findings[0])
    first = bounce.recipients[0] if bounce.recipients else None
    if bounce.kind == "reply" and first is not None:
        shown = f"the reply {visible(first.diagnostic or '', 80)}"
    else:
        who = first.recipient if first and first.recipient else None
        shown = f"{bounce.format} bounce" if bounce.format else "bounce"
        shown += (f" for {visible(who, 120)}" if who else "")
    diagnosis = Diagnosis(kind="explain", target={"shown": shown}, findings=findings)
    return diagnosis, EXIT_UNCLASSIFIED if main.id == "bounce.unknown" else EXIT_EXPLAINED


# --- the command -------------------------------------------------------------------------------


class _BadInput(Exception):
    """Input that cannot be explained at all (nothing given, unreadable file)."""


def _read(text: Sequence[str], path: str | None) -> str:
    if text and path:
        raise _BadInput("give the text either as arguments or with --file, not both")
    if text:
        return " ".join(text)
    if path is not None and path != "-":
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT * 2)
        except OSError as exc:
            raise _BadInput(f"cannot read {path!r}: {exc.strerror or exc}") from None
        return data.decode("utf-8", "surrogateescape")
    stdin = sys.stdin
    if stdin is None or (path is None and stdin.isatty()):
        raise _BadInput("nothing to explain: usage: mxwizard explain 'REPLY LINE' | --file BOUNCE.eml"
                        " | < BOUNCE.eml")
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        return bytes(buffer.read(MAX_INPUT * 2)).decode("utf-8", "surrogateescape")
    return str(stdin.read(MAX_INPUT * 2))


def explain_command(text: Sequence[str], path: str | None, fmt: str) -> int:
    """``mxwizard explain``: read the input, explain it, print the report; returns the exit status."""
    import time

    from mxwizard.report import render

    started = time.perf_counter()
    try:
        raw = _read(text, path)
        if not raw.strip():
            raise _BadInput("nothing to explain: the input is empty")
    except _BadInput as exc:
        sys.stderr.write(f"mxwizard: error: {exc}\n")
        return EXIT_USAGE
    diagnosis, status = explain_text(raw)
    diagnosis.elapsed_ms = (time.perf_counter() - started) * 1000
    sys.stdout.write(render(diagnosis, fmt))
    return status
