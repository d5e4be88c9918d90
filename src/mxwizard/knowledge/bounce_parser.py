"""The bounce parser: turns a reply line or a bounce message into facts, without judging them.

People paste all kinds of things into ``mxwizard explain``: one reply line, the lines of a
multi-line reply, a log line, the human part of a bounce, or a whole RFC 3464 message with its
``message/delivery-status`` part (read with the stdlib :mod:`email` parser). :func:`parse_bounce`
finds, for each failed recipient, the reply code, the enhanced status code, the remote server's
own words, the servers involved and whether the failure is final or a delay, using the format
landmarks in :mod:`mxwizard.knowledge.formats`. It lives next to that knowledge because it is
the code half of it. Pure: a function from text to dataclasses that never raises.
"""

from __future__ import annotations

import email
import email.message
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mxwizard.knowledge import formats
from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.replies import parse_reply

#: Input beyond this many characters is not read: a bounce with the original message and its
#: attachments returned can be several megabytes, but the facts are in its first parts.
MAX_INPUT = 10_000_000
#: How much of the human-readable and delivery-status text is searched (bounds the work on
#: hostile input; real notifications are a few kilobytes).
MAX_TEXT = 200_000

_STRONG = re.compile(r"(?<![\w.])([245]\d\d)[ \t-]+#?([245]\.\d{1,3}\.\d{1,3})(?![\w.])")
_WEAK = re.compile(
    r"(?:^[ \t>]*|said:\s*|reason:\s*|<<<\s*|smtp;\s*|returned\s*['\"]<?\s*#?|#|error:\s*|>:\s*)"
    r"([45]\d\d)(?:[ \t-]|:[ \t]?)(?=[ \t]*[A-Za-z\[<#(])",
    re.MULTILINE | re.IGNORECASE,
)
#: An enhanced code outside a reply: qmail's "(#5.1.1)", a Postfix log's "dsn=4.7.4".
_LONE_CODE = re.compile(r"\(#([245]\.\d{1,3}\.\d{1,3})\)|\bdsn=([245]\.\d{1,3}\.\d{1,3})\b")
_IN_REPLY_TO = re.compile(r"\s*\(in reply to (.{1,40}?) command\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RecipientReport:
    """What a bounce says about one recipient."""

    recipient: str | None = None
    original_recipient: str | None = None
    #: The DSN action (failed, delayed, delivered, relayed, expanded), or one inferred from text.
    action: str | None = None
    #: The DSN Status field (an enhanced code).
    status: str | None = None
    remote_mta: str | None = None
    #: The remote server's words (the reply line, without the "smtp;" type and command note).
    diagnostic: str | None = None
    code: int | None = None
    enhanced: str | None = None
    #: The SMTP command the reply answered ("RCPT TO"), when the bounce says.
    command: str | None = None
    #: The raw lines this rests on.
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bounce:
    """A parsed reply line or bounce message."""

    #: "reply" (one reply, possibly multi-line), "dsn" (RFC 3464) or "text" (free text).
    kind: str
    #: The mail system whose bounce format was recognised ("Postfix", "Gmail"...), if any.
    format: str | None = None
    reporting_mta: str | None = None
    #: The original sender (you), when the bounce names it.
    sender: str | None = None
    recipients: tuple[RecipientReport, ...] = ()
    #: The human-readable text, without the returned copy of the original message.
    body: str = ""




def _first(patterns: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match is not None:
            return match
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _extent(text: str, start: int) -> str:
    """The reply starting at ``start`` with its continuation lines (folded or multi-line)."""
    line_start = text.rfind("\n", 0, start) + 1
    at_line_start = not text[line_start:start].strip(" \t>")
    first_indent = _indent(text[line_start:start + 1])
    end = text.find("\n", start)
    parts = [text[start:] if end < 0 else text[start:end]]
    code = parts[0][:3]
    while end >= 0 and len(parts) < 40:
        nxt = text.find("\n", end + 1)
        line = text[end + 1:] if nxt < 0 else text[end + 1:nxt]
        if not line.strip():
            break
        indent = _indent(line)
        same_reply = line.lstrip(" \t>").startswith((code + "-", code + " "))
        if at_line_start and first_indent == 0 and not (same_reply or indent > 0):
            break
        if at_line_start and first_indent > 0 and indent < first_indent:
            break
        if not at_line_start and indent == 0 and not same_reply:
            break
        parts.append(line.strip())
        end = nxt
    return " ".join(p.strip() for p in parts)


def _clean_reply(raw: str) -> tuple[str, str | None]:
    """Tidy an extracted reply: merge multi-line prefixes, drop quotes and the command note."""
    text = re.sub(r"^(\d{3}):\s*", r"\1 ", raw.strip())
    command = None
    note = _IN_REPLY_TO.search(text)
    if note is not None:
        command, text = note[1].upper(), text[: note.start()]
    head = parse_reply(text)
    if head is not None:
        prefix = rf"\s+{head[0]}[ -]" + (re.escape(head[1]) + r"(?=\s)" if head[1] else "")
        text = text[:4] + re.sub(prefix, " ", text[4:])
    text = text.rstrip(" '\"#")
    if text.endswith(">") and text.count("<") < text.count(">"):
        text = text[:-1].rstrip(" '\"#")
    if text.endswith(")") and text.count("(") < text.count(")"):
        text = text[:-1].rstrip()
    return " ".join(text.split()), command


def find_reply(text: str) -> tuple[str, str | None] | None:
    """The first failure reply (4xx/5xx) in free text, cleaned, and the command it answered."""
    strong = next((m for m in _STRONG.finditer(text) if m[1][0] in "45"), None)
    weak = _WEAK.search(text)
    starts = [m.start(1) for m in (strong, weak) if m is not None]
    if not starts:
        return None
    start = min(starts)
    return _clean_reply(_extent(text, start))


def _unfolded_fields(lines: Sequence[str]) -> list[tuple[str, str, str]]:
    """DSN fields in text lines as (name, value, raw line), joining folded continuation lines."""
    out: list[tuple[str, str, str]] = []
    for line in lines:
        match = formats.DSN_FIELD.match(line)
        if match is not None:
            out.append((match[1].lower(), match[2].strip(), line.strip()))
        elif out and line[:1] in (" ", "\t") and line.strip():
            name, value, raw = out[-1]
            out[-1] = (name, f"{value} {line.strip()}", f"{raw} {line.strip()}")
        elif not line.strip():
            out.append(("", "", ""))
    return out


def _strip_type(value: str) -> str:
    """'rfc822; a@b' -> 'a@b', 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value[:20] else value.strip()


def _report_from_fields(fields: Sequence[tuple[str, str, str]]) -> RecipientReport:
    values = {name: value for name, value, _ in fields}
    diagnostic = _strip_type(values["diagnostic-code"]) if values.get("diagnostic-code") else None
    command = None
    if diagnostic:
        diagnostic, command = _clean_reply(diagnostic)
    code = enhanced = None
    head = parse_reply(diagnostic) if diagnostic else None
    if head is not None:
        code, enhanced, _ = head
    status = values.get("status", "").split()[0] if values.get("status") else None
    return RecipientReport(
        recipient=_strip_type(values["final-recipient"]).strip("<>") if values.get("final-recipient")
        else None,
        original_recipient=_strip_type(values["original-recipient"]).strip("<>")
        if values.get("original-recipient") else None,
        action=(values.get("action") or "").split()[0].lower() if values.get("action") else None,
        status=status if status and split(status) else None,
        remote_mta=_strip_type(values["remote-mta"]) if values.get("remote-mta") else None,
        diagnostic=diagnostic, code=code, enhanced=enhanced, command=command,
        evidence=tuple(raw for name, _, raw in fields if name and name != "reporting-mta"),
    )


def _dsn_reports(text: str) -> tuple[list[RecipientReport], str | None, str | None]:
    """Recipient reports, Reporting-MTA and X-Postfix-Sender from DSN fields in text."""
    fields = _unfolded_fields(text.splitlines())
    reporting = next((_strip_type(v) for n, v, _ in fields if n == "reporting-mta"), None)
    sender = next((_strip_type(v).strip("<>") for n, v, _ in fields if n == "x-postfix-sender"), None)
    reports: list[RecipientReport] = []
    block: list[tuple[str, str, str]] = []
    for item in [*fields, ("", "", "")]:
        if item[0] == "final-recipient" and any(n == "final-recipient" for n, _, _ in block):
            reports.append(_report_from_fields(block))
            block = []
        if item[0]:
            block.append(item)
        elif block:
            if any(n in ("final-recipient", "action", "status", "diagnostic-code") for n, _, _ in block):
                reports.append(_report_from_fields(block))
            block = []
    return reports, reporting, sender


def _report_from_text(text: str, recipient: str | None) -> RecipientReport:
    """One recipient's facts from a free-text passage."""
    found = find_reply(text)
    diagnostic, command = found if found else (None, None)
    code = enhanced = None
    if diagnostic:
        head = parse_reply(diagnostic)
        if head is not None:
            code, enhanced, _ = head
    if enhanced is None:
        lone = _LONE_CODE.search(text)
        enhanced = (lone[1] or lone[2]) if lone else None
    if diagnostic is None:
        reason = formats.LOG_REASON.search(text) or formats.EXIM_BLOCK.search(text)
        paragraph = reason[reason.lastindex or 1] if reason else text
        diagnostic = " ".join(paragraph.split())[:500] or None
    remote = _first(formats.REMOTE_MTA, text)
    remote_mta = None
    if remote is not None:
        remote_mta = remote[1] + (f" [{remote[2]}]" if remote.lastindex and remote.lastindex > 1
                                  and remote[2] else "")
    return RecipientReport(recipient=recipient, remote_mta=remote_mta, diagnostic=diagnostic,
                           code=code, enhanced=enhanced, command=command,
                           evidence=(diagnostic,) if diagnostic else ())


def _free_text_reports(text: str) -> list[RecipientReport]:
    """Recipient reports from the human part of a bounce (Postfix/qmail/Yahoo paragraphs first)."""
    reports: list[RecipientReport] = []
    matches = list(formats.RECIPIENT_PARAGRAPH.finditer(text))
    for index, match in enumerate(matches):
        stop = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        chunk = text[match.end():stop]
        blank = re.search(r"\n[ \t]*\n", chunk.lstrip("\n"))
        chunk = chunk.lstrip("\n")[: blank.start()] if blank else chunk
        if chunk.strip():
            reports.append(_report_from_text(chunk, match[1]))
    if reports:
        return reports
    named = _first(formats.RECIPIENT, text)
    report = _report_from_text(text, named[1] if named else None)
    return [report] if report.diagnostic or report.recipient else []


def _action_from_text(text: str) -> str | None:
    if formats.DELAYED.search(text):
        return "delayed"
    if formats.FAILED.search(text):
        return "failed"
    return None


def _decode(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def _walk(part: email.message.Message, texts: list[str], dsn: list[str], originals: list[str]) -> None:
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, email.message.Message):
            originals.append(str(inner.get("From", "")))
        else:
            originals.extend(re.findall(r"(?mi)^From:(.*)$", _decode(part))[:1])
        return
    if ctype == "message/delivery-status":
        payload = part.get_payload()
        if isinstance(payload, list):
            dsn.append("\n\n".join("\n".join(f"{k}: {' '.join(str(v).split())}" for k, v in block.items())
                                   for block in payload if isinstance(block, email.message.Message)))
        else:
            dsn.append(_decode(part))
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, email.message.Message):
                _walk(sub, texts, dsn, originals)
        return
    if ctype == "text/plain" or (ctype == "text/html" and not texts):
        body = _decode(part)[:MAX_TEXT]
        if ctype == "text/html":
            body = re.sub(r"<[^>]{0,2000}>", " ", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", body))
        texts.append(body)


_HEADER_NAMES = re.compile(r"(?mi)^(?:From|To|Subject|Date|Received|Return-Path|MIME-Version|"
                           r"Content-Type|Message-ID):")


def _looks_like_message(text: str) -> bool:
    head = text.lstrip()[:10_000].split("\n\n", 1)[0]
    return bool(re.match(r"[!-9;-~]+:", head)) and len(_HEADER_NAMES.findall(head)) >= 2


def _address(header: str) -> str | None:
    match = re.search(r"[^\s<>\"',;:()]+@[\w.-]+\.[a-z]{2,63}", header, re.IGNORECASE)
    return match[0] if match else None


def _multi_line_reply(text: str) -> tuple[int, str | None, str] | None:
    """A reply given on its own (one line, or the lines of one multi-line reply)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines or len(lines) > 40:
        return None
    parsed = [parse_reply(re.sub(r"^(\d{3}):\s*", r"\1 ", line.strip())) for line in lines]
    if any(p is None for p in parsed) or len({p[0] for p in parsed if p}) != 1:
        return None
    first = parsed[0]
    assert first is not None
    words = " ".join(p[2] for p in parsed if p)
    return first[0], first[1], words


def parse_bounce(text: str) -> Bounce:
    """Everything a reply line or bounce message says, as facts. Never raises."""
    text = text[:MAX_INPUT].replace("\r\n", "\n").replace("\r", "\n")
    single = _multi_line_reply(text)
    if single is not None:
        code, enhanced, words = single
        line = f"{code} {enhanced + ' ' if enhanced else ''}{words}".strip()
        named = re.search(r"<([^<>\s]+@[^<>\s]+)>", words)
        about_sender = named is not None and re.search(r"\bsender\b", words, re.IGNORECASE) is not None
        report = RecipientReport(recipient=named[1] if named and not about_sender else None,
                                 diagnostic=line, code=code, enhanced=enhanced, evidence=(line,))
        return Bounce("reply", None, None, named[1] if named and about_sender else None, (report,),
                      text.strip())
    texts: list[str] = []
    dsn: list[str] = []
    originals: list[str] = []
    sender = None
    if _looks_like_message(text):
        try:
            message = email.message_from_string(text.lstrip())
            _walk(message, texts, dsn, originals)
            sender = _address(str(message.get("To", "")))
        except Exception:  # a broken MIME structure is still text to read
            texts, dsn = [text], []
        if not texts and not dsn:
            texts = [text]
    else:
        texts = [text]
    body = "\n".join(texts)[:MAX_TEXT]
    dsn = [part[:MAX_TEXT] for part in dsn]
    cut = formats.RETURNED_MESSAGE.search(body)
    human = body[: cut.start()] if cut else body
    reports, reporting, dsn_sender = _dsn_reports("\n\n".join(dsn) if dsn else human)
    kind = "dsn" if dsn else "text"
    from_text = _free_text_reports(human)
    reports = [_fill_from_text(r, from_text) for r in reports] if reports else from_text
    action = _action_from_text(human)
    if action is not None:
        reports = [r if r.action else replace(r, action=action) for r in reports]
    reporting_match = _first(formats.REPORTING_MTA, human)
    format_match = next((name for name, pattern in formats.BOUNCE_FORMATS if pattern.search(body)), None)
    sender = dsn_sender or _first_sender(human) or next(
        (a for a in map(_address, originals) if a), None) or sender
    return Bounce(kind, format_match, reporting or (reporting_match[1] if reporting_match else None),
                  sender, tuple(reports), human)


def _first_sender(text: str) -> str | None:
    match = _first(formats.SENDER, text)
    return match[1] if match else None


def _fill_from_text(report: RecipientReport, from_text: list[RecipientReport]) -> RecipientReport:
    """Complete a DSN recipient with what the human part says (some DSNs omit Diagnostic-Code
    or Remote-MTA)."""
    same = [r for r in from_text if r.recipient and report.recipient
            and r.recipient.lower() == report.recipient.lower()]
    other = same[0] if same else (from_text[0] if len(from_text) == 1 else None)
    if other is None:
        return report
    if report.diagnostic:
        return replace(report, remote_mta=report.remote_mta or other.remote_mta)
    if not other.diagnostic:
        return report
    return replace(report, diagnostic=other.diagnostic, code=other.code, enhanced=other.enhanced,
                   command=other.command, remote_mta=report.remote_mta or other.remote_mta,
                   evidence=(*report.evidence, other.diagnostic))
