"""Renderers of a finished diagnosis: plain text for terminals, Markdown for tickets and forum
posts, JSON for scripts (the shape of DESIGN.md §2). All remote text passes the sanitiser here:
in text and Markdown where each piece is placed, in JSON once for every string of the report."""

from __future__ import annotations

import json
import textwrap

from mxwizard.core.findings import ROW_STATUS, ROW_STATUS_WIDTH, Finding, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.checks import question
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.render.dnsview import render_lookups

_WIDTH = 78


def _title(diagnosis: Diagnosis) -> str:
    return question(diagnosis.kind, diagnosis.target)


def _lines(text: str) -> list[str]:
    """Split on newlines and sanitise each line (keeps multi-line fixes readable and safe)."""
    return [visible(line) for line in text.splitlines()]


def _wrapped(text: str, indent: str) -> list[str]:
    out: list[str] = []
    for line in _lines(text):
        if line.startswith("  ") or not line:  # records and config lines stay as they are
            out.append(indent + line)
        else:
            out.extend(textwrap.wrap(line, _WIDTH, initial_indent=indent, subsequent_indent=indent))
    return out


def _finding_text(finding: Finding) -> list[str]:
    status = f"{finding.status.glyph} {finding.status.value.upper():5}"
    out = [f"  {status} {visible(finding.title, 200)}  [{finding.id}]"]
    pad = " " * 10
    if finding.detail:
        out.extend(_wrapped(finding.detail, pad))
    if finding.fix and finding.status is not Status.PASS:
        out.append(f"{pad}Fix:")
        out.extend(_wrapped(finding.fix, pad + "  "))
    if finding.evidence and finding.status is not Status.PASS:
        out.append(f"{pad}Evidence:")
        out.extend(f"{pad}  {visible(line, 300)}" for line in finding.evidence)
    return out


def _checklist_lines(diagnosis: Diagnosis) -> list[str]:
    """The big providers' sender rules, one line per rule under each provider (send checks)."""
    if not diagnosis.checklist:
        return []
    out = ["", "Checklist: the big providers' sender rules"]
    provider = ""
    shown: set[str] = set()
    for row in diagnosis.checklist:
        if row.provider != provider:
            provider = row.provider
            out += [f"  {visible(provider, 100)} ({visible(row.source, 300)})"]
        known = ROW_STATUS.get(row.status)
        mark = known[0].glyph if known else "?"
        out.append(f"    {mark} {row.status:{ROW_STATUS_WIDTH}} {visible(row.rule, 200)}")
        if row.status != "pass" and row.fix:
            out.extend(_wrapped(row.fix, " " * 22) if row.fix not in shown
                       else [" " * 22 + "(the fix is given above)"])
            shown.add(row.fix)
    return out


#: How much a text report says: ``quiet`` the verdict and the failures with their fixes (for
#: scripts and mail), ``normal`` every finding and the SMTP transcripts, ``verbose`` also every
#: DNS answer with its timing (``check -q`` / ``check`` / ``check -v``).
DETAIL_LEVELS = ("quiet", "normal", "verbose")


def to_text(diagnosis: Diagnosis, details: bool = True, detail: str = "verbose") -> str:
    """The report for a terminal: verdict, problems by side with fixes, what is right, and
    (with ``details``) the DNS lookups and SMTP transcripts it rests on, as ``detail`` says."""
    if detail == "quiet":
        return _quiet_text(diagnosis)
    verdict = diagnosis.verdict
    out = [
        _title(diagnosis),
        f"Verdict: {verdict.status.glyph} {verdict.status.value.upper()} - "
        f"{visible(verdict.summary, 300)}",
    ]
    if verdict.where:
        out.append(f"Where to look: {verdict.where}")
    for heading, findings in diagnosis.sections():
        out += ["", heading]
        for finding in findings:
            out.extend(_finding_text(finding))
    out += _checklist_lines(diagnosis)
    if details and detail == "verbose" and diagnosis.lookups:
        out += ["", f"DNS lookups ({len(diagnosis.lookups)})", render_lookups(diagnosis.lookups)]
    if details:
        for transcript in diagnosis.transcripts:
            out += ["", transcript.render()]
    out += ["", f"Finished in {diagnosis.elapsed_ms:.0f} ms."]
    return "\n".join(out) + "\n"


def _md_finding(finding: Finding) -> list[str]:
    out = [f"- {finding.status.glyph} **{visible(finding.title, 200)}** (`{finding.id}`)"]
    if finding.detail:
        out.append(f"  {' '.join(_lines(finding.detail))}")
    if finding.fix and finding.status is not Status.PASS:
        out += ["", "  Fix:", "", "  ~~~~"]
        out += [f"  {line}" for line in _lines(finding.fix)]
        out.append("  ~~~~")
    if finding.evidence and finding.status is not Status.PASS:
        out += ["", "  Evidence:", "", "  ~~~~"]
        out += [f"  {visible(line, 300)}" for line in finding.evidence]
        out.append("  ~~~~")
    return out


def to_markdown(diagnosis: Diagnosis) -> str:
    """The report as Markdown: paste it into a ticket or a forum post."""
    verdict = diagnosis.verdict
    out = [
        f"# {_title(diagnosis)}",
        "",
        f"**Verdict:** {verdict.status.glyph} {verdict.status.value.upper()} — "
        f"{visible(verdict.summary, 300)}",
    ]
    if verdict.where:
        out += ["", f"**Where to look:** {verdict.where}"]
    for heading, findings in diagnosis.sections():
        out += ["", f"## {heading}", ""]
        for finding in findings:
            out += _md_finding(finding)
    if diagnosis.checklist:
        out += ["", "## Checklist: the big providers' sender rules", "",
                "| Provider | Rule | Status |", "|---|---|---|"]
        out += [f"| [{visible(r.provider, 100)}]({visible(r.source, 300)}) | "
                f"{visible(r.rule, 200).replace('|', '/')} | {r.status} |" for r in diagnosis.checklist]
    if diagnosis.lookups:
        out += ["", "## DNS lookups", "", "~~~~", render_lookups(diagnosis.lookups), "~~~~"]
    for transcript in diagnosis.transcripts:
        out += ["", f"## SMTP session with {visible(transcript.host, 200)}", "", "~~~~",
                transcript.render(), "~~~~"]
    out += ["", f"_mxwizard, {diagnosis.elapsed_ms:.0f} ms_"]
    return "\n".join(out) + "\n"


#: The longest line of any string in the JSON report (made visible first; the probes cut
#: records and replies far below this).
JSON_LINE_LIMIT = 10_000


def json_safe(value: object) -> object:
    """``value`` with every string in it (keys too) made visible line by line, whatever built it.

    JSON's own escapes are not enough: ``jq -r`` turns ``\\u001b`` back into a raw ESC on the
    terminal, and a lone surrogate (``\\udce0``, a byte that was not UTF-8) makes strict parsers
    refuse the whole report. So at this one boundary each string gets what the text report
    gives it: control characters, bidi controls and lone surrogates as visible escapes, length
    capped. Line breaks stay: they are the layout of details and fixes (remote text inside them
    was made visible by the rules, where a line break becomes ``\\n``)."""
    if isinstance(value, str):
        return "\n".join(visible(line, JSON_LINE_LIMIT) for line in value.split("\n"))
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def to_json(diagnosis: Diagnosis) -> str:
    """The JSON report: every string made visible (:func:`json_safe`), and ASCII only
    (``ensure_ascii``), so any terminal, pipe or strict parser takes it as it is."""
    return json.dumps(json_safe(diagnosis.to_json()), indent=2, ensure_ascii=True) + "\n"


RENDERERS = {"text": to_text, "markdown": to_markdown, "json": to_json}


def _quiet_text(diagnosis: Diagnosis) -> str:
    """``-q``: the verdict line, then each failure (and what could not be tested) with its fix."""
    verdict = diagnosis.verdict
    out = [f"{verdict.status.glyph} {verdict.status.value.upper()} - {visible(verdict.summary, 300)}"]
    for finding in diagnosis.findings:
        if finding.status in (Status.FAIL, Status.ERROR):
            out.extend(_finding_text(finding))
    return "\n".join(out) + "\n"


def render(diagnosis: Diagnosis, fmt: str, detail: str = "verbose") -> str:
    """Render in ``fmt`` (text, markdown or json); ``detail`` applies to text."""
    if fmt == "text":
        return to_text(diagnosis, detail=detail)
    return RENDERERS[fmt](diagnosis)
