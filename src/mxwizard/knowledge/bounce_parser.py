"""The bounce parser: turns a reply line or a bounce message into facts, without judging them.

People paste all kinds of things into ``mxwizard explain``: one reply line, the lines of a
multi-line reply, a log line, the human part of a bounce, or a whole RFC 3464 message with its
``message/delivery-status`` part (read with the stdlib :mod:`email` parser). :func:`parse_bounce`
finds, for each failed recipient, the reply code, the enhanced status code, the remote server's
own words, the servers involved and whether the failure is final or a delay.

It reads a bounce the way a postmaster does: the per-recipient delivery-status fields first
(Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code), then the human-readable part,
but only up to where the returned copy of the original message begins, because a word in the
sender's own mail ("HELO", "blacklist", "quota") says nothing about why it bounced. Each mail
system lays out its notice differently (Postfix and qmail paragraphs, Exim's indented blocks,
Sendmail's transcript, Exchange's administrator section, Domino's "because:"), and each layout
has its extractor, so every recipient of a multi-recipient bounce gets its own passage. Pure: a
function from text to dataclasses that never raises.
"""

from __future__ import annotations

import email
import email.message
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from mxwizard.knowledge import formats
from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.replies import parse_reply
from mxwizard.knowledge.signatures import BLOCKLIST_NAMES, fingerprint

#: Input beyond this many characters is not read: a bounce with the original message and its
#: attachments returned can be several megabytes, but the facts are in its first parts.
MAX_INPUT = 10_000_000
#: How much of the human-readable and delivery-status text is searched (bounds the work on
#: hostile input; real notifications are a few kilobytes).
MAX_TEXT = 200_000
#: The most recipients read from one bounce (a list server's bounce can name thousands).
MAX_RECIPIENTS = 100
#: How much of one recipient's passage is kept as its context.
MAX_CONTEXT = 4_000

_STRONG = re.compile(r"(?<![\w.])([245]\d\d)[ \t-]+#?([245]\.\d{1,3}\.\d{1,3})(?![\w.])")
_WEAK = re.compile(
    r"(?:^[ \t>]*|said:\s*|reason:\s*|<<<\s*|smtp;\s*|returned\s*['\"]<?\s*#?|#|error:\s*|>:\s*"
    r"|returned was:\s*|replied:\s*|Returned:\s*|was:\s*)"
    r"([45]\d\d)(?:[ \t-]|:[ \t]?)(?=[ \t]*[A-Za-z\[<#(\d])",
    re.MULTILINE | re.IGNORECASE,
)
#: An enhanced code outside a reply: qmail's "(#5.1.1)", a Postfix log's "dsn=4.7.4", Exchange
#: 2003's "<mail.example.org #5.1.1>".
_LONE_CODE = re.compile(r"\(#([245]\.\d{1,3}\.\d{1,3})\)|\bdsn=([245]\.\d{1,3}\.\d{1,3})\b"
                        r"|[ \t]#([245]\.\d{1,3}\.\d{1,3})>")
_IN_REPLY_TO = re.compile(r"\s*\(in reply to (.{1,40}?) command\)\s*$", re.IGNORECASE)

_M = re.IGNORECASE | re.MULTILINE
_ADDR = r"[^\s<>()\[\]\"',;:]{1,64}@[\w.-]{1,253}\.[a-z]{2,63}"

#: Where the returned copy of the original message starts (everything after it is the sender's
#: own mail, not evidence).
ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*-+ ?(?:This is a copy of the message|Original message|Below this line is a copy"
    r"|Returned mail|Forwarded message|The header of the original message|Message header follows"
    r"|Undelivered message headers|Failed Message|Returned message|Original mail|Message text follows"
    r"|Message d'origine|Urspr[üu]ngliche Nachricht|Mensaje original|元のメッセージ|原文)"
    r"|^[ \t]*--- Below this line is a copy of the message"
    r"|^[ \t]*Original message headers:"
    r"|^[ \t]*(?:-+ ?)?(?:The )?(?:original|returned) message (?:follows|is (?:attached|included|below))"
    r"|^[ \t]*Included is a copy of the message header"
    r"|^[ \t]*Your message reads \(in part\):"
    r"|^[ \t]*-+ ?Message Headers? ?-+"
    r"|^[ \t]*Content-Type: (?:message/rfc822|text/rfc822-headers)"
    r"|^(?:Received: from|Return-Path: ?<)",
    _M,
)

#: Reply-like lines that only continue the message's own headers (never a diagnostic).
_HEADER_LINE = re.compile(r"^(?:Received|Return-Path|DKIM-Signature|Message-ID|X-Mailer|MIME-Version"
                          r"|Content-Type|Subject|From|To|Date):", re.IGNORECASE)

#: Who wrote the bounce, by the fixed wording of its notice (first match wins).
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Gmail", re.compile(r"mailer-daemon@googlemail\.com|\*\* (?:Address not found|Message (?:blocked|not "
                         r"delivered)|Delivery incomplete) \*\*|Google tried to deliver your message"
                         r"|Technical details of (?:permanent|temporary) failure", _M)),
    ("Yahoo", re.compile(r"Sorry, we were unable to deliver your message to the following address"
                         r"|mailer-daemon@yahoo|mailer-daemon@aol", _M)),
    ("Amazon SES", re.compile(r"amazonses\.com", _M)),
    ("SendGrid", re.compile(r"\bsendgrid\b", _M)),
    ("Mailgun", re.compile(r"\bmailgun\b", _M)),
    ("Domino", re.compile(r"\bwas not delivered to:|Delivery Failure Report|\bDomino\b", _M)),
    ("GroupWise", re.compile(r"\bGroupWise\b|was undeliverable to the following", _M)),
    ("IMail", re.compile(r"\bIMail\b|\bIpswitch\b", _M)),
    ("MailEnable", re.compile(r"\bMailEnable\b|Recipient: \[SMTP:", _M)),
    ("MDaemon", re.compile(r"\bMDaemon\b|--- Session Transcript ---", _M)),
    ("Kerio", re.compile(r"\bKerio\b", _M)),
    ("Zimbra", re.compile(r"\bzimbra\b", _M)),
    ("Courier", re.compile(r"\bCourier mail server\b|This is a delivery status notification from", _M)),
    ("Exchange/Outlook", re.compile(
        r"Delivery has failed to these recipients|did not reach some or all of the intended recipients"
        r"|Diagnostic information for administrators|Delivery is delayed to these recipients"
        r"|Your message to .* couldn't be delivered|Generating server:|could not be reached:", _M)),
    ("qmail", re.compile(r"This is the qmail-send program|qmail-send", _M)),
    ("Postfix", re.compile(r"This is the mail system at host|X-Postfix|\bpostfix/", _M)),
    ("Sendmail", re.compile(r"The original message was received at|----- Transcript of session follows"
                            r"|The following addresses had permanent fatal errors|\bsendmail\b", _M)),
    ("Exim", re.compile(r"This message was created automatically by mail delivery software"
                        r"|SMTP error from remote mail server|\bexim\b", _M)),
)

#: Phrases that say the message is only delayed (a warning; the server still retries).
_DELAYED = re.compile(
    formats.DELAYED.pattern + r"|Message will be retried|Technical details of temporary failure"
    r"|Delivery (?:Status Notification \()?Delay|will retry|has been delayed|is delayed",
    _M)
#: Phrases that say the server has given up (a final failure).
_FAILED = re.compile(
    formats.FAILED.pattern + r"|failed permanently|Technical details of permanent failure|was not delivered"
    r"|permanent(?:ly)? (?:failure|error)|undeliverable|could not be reached|PERMANENT fatal",
    _M)


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
    #: The human-readable passage about this recipient (never the returned original message).
    context: str | None = None


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
    #: Every mail system whose wording or host names appear in the notice (its fingerprint).
    fingerprints: tuple[str, ...] = ()
    #: The sending server's public address, as the refusal quotes it.
    client_ip: str | None = None
    #: The sending server's HELO name, as the refusal quotes it.
    helo: str | None = None
    #: How many recipients the bounce named beyond :data:`MAX_RECIPIENTS`.
    more_recipients: int = 0


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


def cut_original(text: str) -> str:
    """``text`` up to where the returned copy of the original message starts."""
    for match in ORIGINAL_MESSAGE.finditer(text):
        if text[: match.start()].strip():
            return text[: match.start()]
    return text


def _unfolded_fields(lines: Sequence[str]) -> list[tuple[str, str, str]]:
    """DSN fields in text lines as (name, value, raw line), joining folded continuation lines.

    Only a field's own continuation lines are joined: an indented line after anything else (the
    ``Received:`` header of a returned message) is not part of a field.
    """
    out: list[tuple[str, str, str]] = []
    in_field = False
    for line in lines:
        match = formats.DSN_FIELD.match(line)
        if match is not None:
            out.append((match[1].lower(), match[2].strip(), line.strip()))
            in_field = True
        elif in_field and out and line[:1] in (" ", "\t") and line.strip():
            name, value, raw = out[-1]
            out[-1] = (name, f"{value} {line.strip()}", f"{raw} {line.strip()}")
        elif not line.strip():
            out.append(("", "", ""))
            in_field = False
        else:
            in_field = False
    return out


def _strip_type(value: str) -> str:
    """'rfc822; a@b' -> 'a@b', 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value[:20] else value.strip()


def _bare_address(value: str) -> str:
    return _strip_type(value).strip().strip("<>").strip()


def _report_from_fields(fields: Sequence[tuple[str, str, str]]) -> RecipientReport:
    values: dict[str, str] = {}
    for name, value, _ in fields:
        values.setdefault(name, value)
    diagnostic = _strip_type(values["diagnostic-code"]) if values.get("diagnostic-code") else None
    command = None
    if diagnostic:
        diagnostic = cut_original(diagnostic)
        diagnostic, command = _clean_reply(diagnostic)
    code = enhanced = None
    head = parse_reply(diagnostic) if diagnostic else None
    if head is not None:
        code, enhanced, _ = head
    elif diagnostic:
        lone = _LONE_CODE.search(diagnostic)
        enhanced = next((g for g in lone.groups() if g), None) if lone else None
    status = values.get("status", "").split()[0] if values.get("status") else None
    return RecipientReport(
        recipient=_bare_address(values["final-recipient"]) or None if values.get("final-recipient")
        else None,
        original_recipient=_bare_address(values["original-recipient"]) or None
        if values.get("original-recipient") else None,
        action=(values.get("action") or "").split()[0].lower() if values.get("action") else None,
        status=status if status and split(status) else None,
        remote_mta=_strip_type(values["remote-mta"]) if values.get("remote-mta") else None,
        diagnostic=diagnostic or None, code=code, enhanced=enhanced, command=command,
        evidence=tuple(raw[:2000] for name, _, raw in fields if name and name != "reporting-mta"),
    )


def _dsn_reports(text: str) -> tuple[list[RecipientReport], str | None, str | None]:
    """Recipient reports, Reporting-MTA and X-Postfix-Sender from DSN fields in text."""
    fields = _unfolded_fields(text.splitlines()[:20_000])
    reporting = next((_strip_type(v) for n, v, _ in fields if n == "reporting-mta"), None)
    sender = next((_bare_address(v) for n, v, _ in fields if n == "x-postfix-sender"), None)
    reports: list[RecipientReport] = []
    block: list[tuple[str, str, str]] = []
    for item in [*fields, ("", "", "")]:
        if len(reports) > MAX_RECIPIENTS * 4:
            break
        if item[0] == "final-recipient" and any(n == "final-recipient" for n, _, _ in block):
            reports.append(_report_from_fields(block))
            block = []
        if item[0]:
            block.append(item)
        elif block:
            if any(n in ("final-recipient", "action", "status", "diagnostic-code") for n, _, _ in block):
                reports.append(_report_from_fields(block))
            block = []
    return reports, reporting, sender or None


# --- the human part: one passage per recipient ------------------------------------------------

_REMOTE_MTA = (
    *formats.REMOTE_MTA,
    re.compile(r"\bhost ([\w.-]+) \[([0-9a-f.:]+)\]", _M),
    re.compile(r"^[ \t]*([\w.-]+\.[a-z]{2,63}) \[([0-9a-f.:]+)\]:?[ \t]*$", _M),
    re.compile(r"Remote[ -](?:host|server|MTA)(?: \(|: ?|\s+)\[?([\w.:-]+)\]?", _M),
    re.compile(r"^[ \t]*([\w.-]+\.[a-z]{2,63}) (?:gave this error|rejected your message)", _M),
)


def _remote_of(text: str) -> str | None:
    remote = _first(_REMOTE_MTA, text)
    if remote is None:
        return None
    second = remote[2] if remote.lastindex and remote.lastindex > 1 else None
    return remote[1] + (f" [{second}]" if second else "")


def _report_from_text(text: str, recipient: str | None) -> RecipientReport:
    """One recipient's facts from a free-text passage."""
    text = cut_original(text)[:MAX_TEXT]
    found = find_reply(text)
    diagnostic, command = found if found else (None, None)
    code = enhanced = None
    if diagnostic:
        head = parse_reply(diagnostic)
        if head is not None:
            code, enhanced, _ = head
    if enhanced is None:
        lone = _LONE_CODE.search(text)
        enhanced = next((g for g in lone.groups() if g), None) if lone else None
    if diagnostic is None:
        reason = formats.LOG_REASON.search(text) or formats.EXIM_BLOCK.search(text)
        paragraph = reason[reason.lastindex or 1] if reason else text
        diagnostic = " ".join(paragraph.split())[:500] or None
    lines = [line.strip() for line in text.splitlines() if line.strip()][:8]
    if recipient and not any(recipient in line for line in lines):
        lines.insert(0, recipient)
    return RecipientReport(recipient=recipient, remote_mta=_remote_of(text), diagnostic=diagnostic,
                           code=code, enhanced=enhanced, command=command,
                           evidence=tuple(line[:2000] for line in lines),
                           context=" ".join(text.split())[:MAX_CONTEXT] or None)


def _address_in(text: str) -> str | None:
    match = re.search(_ADDR, text, re.IGNORECASE)
    return match[0] if match else None


def _blocks(pattern: re.Pattern[str]) -> Callable[[str], list[tuple[str, str]]]:
    """An extractor for layouts where a recipient line is followed by its reason."""

    def extract(text: str) -> list[tuple[str, str]]:
        out = []
        for match in pattern.finditer(text):
            address = _address_in(match[1])
            if address:
                out.append((address, match[0]))
            if len(out) >= MAX_RECIPIENTS:
                break
        return out

    return extract


def _paragraphs(text: str) -> list[tuple[str, str]]:
    """Postfix, qmail, Yahoo and SendGrid: ``<addr>:`` then the reason, to the next blank line."""
    out: list[tuple[str, str]] = []
    matches = list(formats.RECIPIENT_PARAGRAPH.finditer(text))[:MAX_RECIPIENTS]
    for index, match in enumerate(matches):
        stop = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        chunk = text[match.end():stop].lstrip("\n")
        blank = re.search(r"\n[ \t]*\n", chunk)
        chunk = chunk[: blank.start()] if blank else chunk
        if chunk.strip():
            out.append((match[1], chunk))
    return out


def _exchange(text: str) -> list[tuple[str, str]]:
    """Exchange 2007 and later: the administrators' section, one recipient per block."""
    at = text.find("Diagnostic information for administrators")
    if at < 0:
        return []
    section = text[at:]
    out = []
    for match in re.finditer(rf"^[ \t]*<?({_ADDR})>?[ \t]*\n((?:[ \t]*\S.*(?:\n|$)){{1,6}})", section, _M):
        if re.search(r"returned|#\d{3}|said|error|\b[45]\d\d\b", match[2], re.IGNORECASE):
            out.append((match[1], match[2]))
        if len(out) >= MAX_RECIPIENTS:
            break
    return out


def _domino(text: str) -> list[tuple[str, str]]:
    """Domino: 'was not delivered to: NAME because: REASON'."""
    out = []
    for match in re.finditer(r"was not delivered to:\s*\n?\s*(.{1,300}?)\s*\n\s*because:\s*\n?\s*"
                             r"((?:.+(?:\n|$)){1,6})", text, re.IGNORECASE):
        address = _address_in(match[1]) or _address_in(match[2])
        if address:
            out.append((address, match[2].split("\n\n")[0]))
    return out


_EXTRACTORS: tuple[Callable[[str], list[tuple[str, str]]], ...] = (
    _domino,
    _blocks(re.compile(rf"Recipient: \[SMTP:({_ADDR})\]\s*\n\s*Reason:[ \t]*(.+(?:\n[ \t]+\S.*)*)", _M)),
    _exchange,
    _paragraphs,
    # Exim: the address indented by two spaces, the reason lines by four.
    _blocks(re.compile(rf"^  (<?{_ADDR}>?)[ \t]*\n((?:[ \t]{{4,}}\S.*(?:\n|$))+)", _M)),
    # Sendmail: '<addr>' then indented '(reason: ...)' lines.
    _blocks(re.compile(rf"^[ \t]*(<{_ADDR}>)[ \t]*\n((?:[ \t]+\(.*\)[ \t]*(?:\n|$))+)", _M)),
    # Exchange 2003: 'addr on DATE' then indented lines ending in '<host #5.1.1>'.
    _blocks(re.compile(rf"^[ \t]*'?({_ADDR})'? on .{{3,60}}\n((?:[ \t]{{2,}}\S.*(?:\n|$))+)", _M)),
    # GroupWise: 'addr (reason)' indented under 'undeliverable to the following'.
    _blocks(re.compile(rf"^[ \t]+({_ADDR}) \(([^)\n]{{1,200}})\)", _M)),
    # Courier and Kerio: '<addr>:' or 'addr:' on its own line, then the transcript.
    _blocks(re.compile(rf"^[ \t]*<?({_ADDR})>?:[ \t]*\n((?:[ \t]*(?:>>>|<<<|\S).*(?:\n|$)){{1,8}})", _M)),
)


def _free_text_reports(text: str, failed: Sequence[str] = (),
                       exclude: frozenset[str] = frozenset()) -> list[RecipientReport]:
    """Recipient reports from the human part of a bounce, one per recipient passage."""
    for extract in _EXTRACTORS:
        found = extract(text)
        if found:
            seen: set[str] = set()
            reports = []
            for address, chunk in found:
                if address.lower() in seen:
                    continue
                seen.add(address.lower())
                reports.append(_report_from_text(chunk, address))
            return reports
    named = _first(formats.RECIPIENT, text)
    recipient = named[1] if named else (failed[0] if failed else None)
    if recipient is None:  # a lone address in the notice (IMail's "Unknown user: ADDR")
        recipient = next((a for a in re.findall(_ADDR, text[:5000], re.IGNORECASE)
                          if a.lower() not in exclude), None)
    report = _report_from_text(text, recipient)
    return [report] if report.diagnostic or report.recipient else []


def _action_from_text(text: str) -> str | None:
    if _DELAYED.search(text):
        return "delayed"
    if _FAILED.search(text):
        return "failed"
    return None


def _decode(part: email.message.Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding is still text to read
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    payload = payload[:MAX_TEXT * 2]
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


@dataclass
class _Parts:
    texts: list[str]
    dsn: list[str]
    originals: list[str]
    count: int = 0


def _walk(part: email.message.Message, found: _Parts, depth: int = 0) -> None:
    found.count += 1
    if depth > 10 or found.count > 200:
        return
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, email.message.Message):
            found.originals.append(str(inner.get("From", "")))
        else:
            found.originals.extend(re.findall(r"(?mi)^From:(.*)$", _decode(part)[:20_000])[:1])
        return
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        payload = part.get_payload()
        if isinstance(payload, list):
            found.dsn.append("\n\n".join(
                "\n".join(f"{k}: {' '.join(str(v).split())}" for k, v in block.items())
                for block in payload[:MAX_RECIPIENTS * 2] if isinstance(block, email.message.Message)))
        else:
            found.dsn.append(_decode(part))
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, email.message.Message):
                _walk(sub, found, depth + 1)
        return
    if ctype == "text/plain" or (ctype == "text/html" and not found.texts):
        body = _decode(part)[:MAX_TEXT]
        if ctype == "text/html":
            body = re.sub(r"<[^>]{0,2000}>", " ", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", body))
            body = re.sub(r"&nbsp;", " ", body)
        found.texts.append(body)


_HEADER_NAMES = re.compile(r"(?mi)^(?:From|To|Subject|Date|Received|Return-Path|MIME-Version|"
                           r"Content-Type|Message-ID|X-Failed-Recipients):")


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


_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "100.64.0.0/10", "0.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7", "::/128"))
_IP_IN_TEXT = re.compile(r"(?<![\w.:])\[?((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})\]?"
                         r"(?![\w.:])", re.IGNORECASE)
_HELO_IN_TEXT = (
    re.compile(r"<([\w.-]{1,253})>:? Helo command rejected", re.IGNORECASE),
    re.compile(r"\bhelo=<?([\w.-]{1,253})>?", re.IGNORECASE),
    re.compile(r"\b(?:HELO|EHLO)(?: name)? (?:argument )?['\"<]([\w.-]{1,253})['\">]", re.IGNORECASE),
)


def _public_ip(value: str) -> str | None:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if ip.is_multicast or any(ip in net for net in _NOT_PUBLIC if net.version == ip.version):
        return None
    return str(ip)


def _client_facts(reports: Sequence[RecipientReport]) -> tuple[str | None, str | None]:
    """The sending server's address and HELO name, where a refusal quotes them.

    Only the remote server's own words count (never the bounce's other text), and an address
    that belongs to the remote server itself is not ours."""
    ip = helo = None
    for report in reports:
        words = report.diagnostic or ""
        theirs = set(_IP_IN_TEXT.findall(report.remote_mta or ""))
        for candidate in _IP_IN_TEXT.findall(words[:2000]):
            if candidate not in theirs and ip is None:
                ip = _public_ip(candidate)
        for pattern in _HELO_IN_TEXT:
            named = pattern.search(words)
            if named is not None and helo is None and "." in named[1]:
                helo = named[1].lower()
    return ip, helo


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
        ip, helo = _client_facts([report])
        return Bounce("reply", None, None, named[1] if named and about_sender else None, (report,),
                      text.strip(), fingerprint(line), ip, helo)
    found = _Parts([], [], [])
    sender = None
    headers = ""
    failed: list[str] = []
    if _looks_like_message(text):
        try:
            message = email.message_from_string(text.lstrip()[:MAX_INPUT])
            _walk(message, found)
            sender = _address(str(message.get("To", "")))
            failed = re.findall(_ADDR, str(message.get("X-Failed-Recipients", ""))[:5000], re.IGNORECASE)
            headers = "\n".join(f"{k}: {v}" for k, v in list(message.items())[:60]
                                if k.lower() in ("from", "subject", "x-mailer", "received", "message-id"))
        except Exception:  # a broken MIME structure is still text to read
            found = _Parts([text], [], [])
        if not found.texts and not found.dsn:
            found.texts = [text]
    else:
        found.texts = [text]
    body = "\n".join(found.texts)[:MAX_TEXT]
    dsn = [part[:MAX_TEXT] for part in found.dsn]
    human = cut_original(body)
    dsn_text = "\n\n".join(dsn) if dsn else human
    reports, reporting, dsn_sender = _dsn_reports(dsn_text)
    kind = "dsn" if dsn or reports else "text"
    from_text = _free_text_reports(human, failed, frozenset(a.lower() for a in (sender,) if a))
    reports = [_fill_from_text(r, from_text) for r in reports] if reports else from_text
    more = max(0, len(reports) - MAX_RECIPIENTS)
    reports = reports[:MAX_RECIPIENTS]
    action = _action_from_text(human)
    if action is not None:
        reports = [r if r.action else replace(r, action=action) for r in reports]
    reporting_match = _first(formats.REPORTING_MTA, human)
    families = fingerprint(f"{headers}\n{human[:8_000]}\n{dsn_text[:4_000]}")
    format_match = next((name for name, pattern in _FORMATS if pattern.search(f"{headers}\n{body[:50_000]}")),
                        None) or next((f for f in families if f not in BLOCKLIST_NAMES), None)
    if not (dsn or reports or format_match):
        format_match = None
    sender = dsn_sender or _first_sender(human) or next(
        (a for a in map(_address, found.originals) if a), None) or _original_sender(body) or sender
    ip, helo = _client_facts(reports)
    return Bounce(kind, format_match, reporting or (reporting_match[1] if reporting_match else None),
                  sender, tuple(reports), human, families, ip, helo, more)


def _original_sender(body: str) -> str | None:
    """The From: of the original message returned inline after the notice."""
    cut = cut_original(body)
    if len(cut) >= len(body):
        return None
    match = re.search(r"(?mi)^From:(.*)$", body[len(cut):len(cut) + 20_000])
    return _address(match[1]) if match else None


def _first_sender(text: str) -> str | None:
    match = _first(formats.SENDER, text)
    return match[1] if match else None


def _fill_from_text(report: RecipientReport, from_text: list[RecipientReport]) -> RecipientReport:
    """Complete a DSN recipient with what the human part says about the same recipient (some
    DSNs omit Diagnostic-Code or Remote-MTA; the passage is kept as context either way)."""
    same = [r for r in from_text if r.recipient and report.recipient
            and r.recipient.lower() == report.recipient.lower()]
    other = same[0] if same else (from_text[0] if (len(from_text) == 1 and not report.recipient)
                                  or (len(from_text) == 1 and not from_text[0].recipient) else None)
    if other is None:
        return report
    report = replace(report, context=other.context, remote_mta=report.remote_mta or other.remote_mta)
    if report.diagnostic or not other.diagnostic:
        return report
    return replace(report, diagnostic=other.diagnostic, code=other.code, enhanced=other.enhanced,
                   command=other.command, evidence=(*report.evidence, other.diagnostic))
