"""SMTP replies in plain words: what a reply code, its enhanced status code and its text mean.

The transcript annotator gives every server line a short note from :func:`meaning`; the bounce
explainer and the "explain this line" view use the longer ``explanation``. A reply is read in
three layers, from coarse to fine: the three-digit code (RFC 5321: 2yz done, 3yz go on, 4yz try
again later, 5yz do not retry), the enhanced status code that many servers put first in the text
(RFC 3463 and later), and the words themselves, which is where providers say what really
happened (see :mod:`mxwizard.knowledge.providers`). Pure functions; never raise on any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mxwizard.knowledge import enhanced as _enhanced
from mxwizard.knowledge.bounces import DOMAIN_ACCEPTS_NO_MAIL
from mxwizard.knowledge.signatures import class_for_enhanced, provider_of, recognise

__all__ = ["REPLY_CODES", "ReplyMeaning", "enhanced_meaning", "meaning", "parse_reply"]

#: The longest note, so a transcript line stays on one line.
NOTE_LIMIT = 70

_REPLY = re.compile(r"^[ \t]*([2-5]\d\d)(?:([ \t-])(.*?))?[ \t]*\r?\n?$", re.DOTALL)
_ENHANCED_PREFIX = re.compile(r"^[ \t]*([245]\.\d{1,3}\.\d{1,3})(?=[ \t]|$)[ \t]*(.*)$", re.DOTALL)

#: What each reply class means, and what happens next.
CLASS_OF_DIGIT = {2: "success", 3: "intermediate", 4: "temporary", 5: "permanent"}
CLASS_NOTE = {
    "success": "success",
    "intermediate": "go on",
    "temporary": "temporary failure",
    "permanent": "permanent failure",
}
_CLASS_SENTENCE = {
    "success": "The server did what was asked.",
    "intermediate": "The server is waiting for the client to send the next part.",
    "temporary": "This is a temporary failure: the sending server keeps the message and tries "
                 "again later, usually for several days before it gives up.",
    "permanent": "This is a permanent failure: the sending server will not try again, and the "
                 "sender gets a bounce message.",
}

#: The common reply codes: (a few words, a plain explanation).
REPLY_CODES: dict[int, tuple[str, str]] = {
    211: ("system status", "A status or help reply about the server itself."),
    214: ("help text", "Help text for a person reading the session."),
    220: ("server ready", "The greeting: the server is ready for the conversation (or, after "
                          "STARTTLS, ready to start encryption)."),
    221: ("goodbye", "The server is closing the connection, normally after QUIT."),
    235: ("logged in", "SMTP AUTH succeeded: the client is logged in."),
    250: ("OK", "The command was accepted (after DATA: the message was taken for delivery)."),
    251: ("will forward", "The recipient is not local here, but the server will forward the mail."),
    252: ("cannot verify, will try", "The server will not confirm the address but will accept "
                                     "mail for it and try to deliver."),
    334: ("AUTH challenge", "The server waits for the next step of a login (a base64 challenge)."),
    354: ("send the message", "The server waits for the message itself, ended by a line with a "
                              "single dot."),
    421: ("service unavailable, closing", "The server will not talk now and closes the "
                                          "connection (overloaded, shutting down or rate limiting)."),
    450: ("mailbox unavailable (for now)", "The mailbox cannot be used right now: it may be busy, "
                                          "or a policy such as greylisting asks for a retry."),
    451: ("local error, try later", "The server hit a problem of its own (or a temporary policy) "
                                    "and asks for a retry."),
    452: ("insufficient storage, try later", "The server is short of storage, or the message has "
                                             "more recipients than it takes at once."),
    454: ("TLS or login unavailable", "TLS cannot start now, or a login failed for a temporary "
                                      "reason."),
    455: ("parameters not accommodated", "The server cannot handle the MAIL or RCPT parameters "
                                         "right now."),
    500: ("command not recognised", "The server did not understand the command (or the line was "
                                    "too long)."),
    501: ("bad arguments", "The command was understood but its arguments were not valid (for "
                          "example a malformed address or HELO name)."),
    502: ("command not implemented", "The server does not support this command."),
    503: ("bad command sequence", "The command came in the wrong order (for example RCPT before "
                                  "MAIL, or AUTH is needed first)."),
    504: ("parameter not implemented", "The server does not support this parameter of the "
                                       "command."),
    521: ("host accepts no mail", "This host never accepts mail (RFC 7504)."),
    530: ("authentication required", "The server wants the client to log in (or to start TLS) "
                                     "before it goes on."),
    534: ("login method too weak", "The server refuses this AUTH mechanism as too weak."),
    535: ("login failed", "The AUTH user name or password was not accepted."),
    538: ("encryption required for login", "This login mechanism needs an encrypted "
                                           "connection."),
    550: ("refused (mailbox or policy)", "The server refused the request: usually no such "
                                         "mailbox, or a policy rejection (blocklist, relaying)."),
    551: ("user not local", "The recipient is not here; the server suggests another address "
                           "and will not forward."),
    552: ("storage or size exceeded", "The mailbox is over quota or the message is too big."),
    553: ("address not allowed", "The address was refused: its syntax is wrong or it is not "
                                "allowed here."),
    554: ("transaction failed", "The server refused the message or, in the greeting, refuses "
                               "any mail from this client."),
    555: ("MAIL/RCPT parameters refused", "The server does not recognise or accept parameters "
                                          "given with MAIL or RCPT."),
    556: ("domain accepts no mail", "The recipient's domain does not accept mail at all "
                                    "(RFC 7504, e.g. a null MX)."),
}


@dataclass(frozen=True)
class ReplyMeaning:
    """Everything known about one SMTP reply."""

    #: The three-digit reply code.
    code: int
    #: The enhanced status code at the start of the text, if any ("5.7.1").
    enhanced: str | None
    #: "success" | "intermediate" | "temporary" | "permanent".
    klass: str
    #: One short line for a transcript note, e.g. "permanent failure: policy rejection (5.7.1)".
    note: str
    #: A few plain sentences for the "explain this line" view.
    explanation: str
    #: The provider, blocklist or MTA whose wording was recognised, if any.
    provider: str | None
    #: The bounce class the reply proves, when the text says enough (failures only).
    bounce_class: str | None


def parse_reply(line: str) -> tuple[int, str | None, str] | None:
    """'550-5.7.1 text' or '550 5.7.1 text' -> (550, '5.7.1', 'text'); None if not a reply line."""
    if not isinstance(line, str) or len(line) > 100_000:
        return None
    match = _REPLY.match(line)
    if match is None:
        return None
    code = int(match[1])
    rest = match[3] or ""
    enhanced = _ENHANCED_PREFIX.match(rest)
    if enhanced is not None:
        return code, enhanced[1], enhanced[2].strip()
    return code, None, rest.strip()


def _klass(code: int) -> str:
    return CLASS_OF_DIGIT.get(code // 100, "permanent")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def meaning(code: int, text: str) -> ReplyMeaning:
    """Everything we know about a reply (the text may hold an enhanced code and provider hints)."""
    try:
        code = int(code)
    except (TypeError, ValueError, OverflowError):
        code = 0
    text = text if isinstance(text, str) else ""
    head = _ENHANCED_PREFIX.match(text)
    enhanced = head[1] if head is not None else None
    klass = _klass(code)
    failure = klass in ("temporary", "permanent")

    signature = recognise(code, enhanced, text) if failure else None
    by_code = class_for_enhanced(enhanced) if failure else None
    if signature is not None and signature.strength < 2 and by_code is not None:
        signature = None  # a vague word ("rejected") says less than a specific code
    bounce_class: str | None = signature.bounce_class if signature else None
    if failure and bounce_class is None:
        if by_code is not None:
            bounce_class = by_code[0]
        elif code in (521, 556):
            bounce_class = DOMAIN_ACCEPTS_NO_MAIL
    provider = (signature.provider if signature and signature.provider else None) or provider_of(text)

    code_topic, code_sentence = REPLY_CODES.get(code, ("", ""))
    specific = _enhanced.split(enhanced) if enhanced else None
    if signature is not None:
        topic = signature.topic
    elif failure and specific is not None and specific[1:] != (0, 0) \
            and _enhanced.lookup(enhanced or "") is not None:
        topic = _enhanced.topic(enhanced or "")
    elif code_topic:
        topic = code_topic
    else:
        topic = "not a standard reply code" if not 200 <= code <= 599 else f"reply {code}"
    suffix = f" ({enhanced})" if enhanced else ""
    prefix = f"{CLASS_NOTE[klass]}: "
    note = prefix + _short(topic, NOTE_LIMIT - len(prefix) - len(suffix)) + suffix

    sentences = [_CLASS_SENTENCE[klass]] if 200 <= code <= 599 else [
        f"{code} is not a standard SMTP reply code; read the text for what the server meant."]
    if signature is not None:
        sentences.append(signature.explanation)
    if code_sentence and signature is None:
        sentences.append(f"Code {code} in general: {code_sentence}")
    if enhanced is not None:
        sentences.append(f"Enhanced code {enhanced}: {enhanced_meaning(enhanced)}")
    if provider is not None and (signature is None or signature.provider != provider):
        sentences.append(f"The wording points to {provider}.")
    return ReplyMeaning(code, enhanced, klass, note, " ".join(sentences), provider, bounce_class)


def enhanced_meaning(enhanced: str) -> str:
    """The RFC 3463 / 7372 / 7505 meaning of X.Y.Z, falling back to class + subject."""
    if not isinstance(enhanced, str):
        return "Not an enhanced status code."
    return _enhanced.enhanced_meaning(enhanced)
