"""Rejection signatures: finding the tell-tale wordings of providers, blocklists and MTAs in text.

A reply code says little ("550" covers a dozen reasons); the words after it say the rest. The
table of :class:`Signature` objects lives in :mod:`mxwizard.knowledge.providers`; this module
searches text for them. :func:`matches` returns every signature a text carries (the bounce
classifier weighs them all), :func:`recognise` the single best one (the transcript annotator and
the live checks use it), and :func:`class_for_enhanced` reads an enhanced status code alone.
:func:`fingerprint` names the mail systems whose wording or host names appear in a text: an
expert reading a bounce first asks "who wrote this?", because the same words mean different
things from different systems. Pure data and lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mxwizard.knowledge.bounces import (
    AUTH_FAILED,
    DOMAIN_ACCEPTS_NO_MAIL,
    EXPIRED,
    HOST_UNKNOWN,
    MAILBOX_DISABLED,
    MAILBOX_FULL,
    MESSAGE_MALFORMED,
    MESSAGE_TOO_BIG,
    NETWORK_ERROR,
    POLICY_REJECTED,
    RATE_LIMITED,
    RDNS_OR_HELO,
    RECEIVER_ERROR,
    SENDER_REJECTED,
    SPAM_CONTENT,
    TLS_REQUIRED,
    USER_UNKNOWN,
)
from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.providers import BOILERPLATE, GENERIC, PROVIDER_SIGNATURES, Signature

__all__ = ["Signature", "class_for_enhanced", "fingerprint", "loose_class_for_enhanced", "matches",
           "provider_of", "recognise", "strip_boilerplate"]

#: Who wrote a text, judged by names and phrasing only that provider or MTA uses. The order is
#: the order of precedence for :func:`provider_of` (a hosted provider before the MTA it runs).
_FINGERPRINTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("Gmail", r"\bgsmtp\b|\bgoogle\.com\b|\bgooglemail\.com\b|\bgmail\b|Google tried to deliver"),
        ("Outlook", r"protection\.outlook\.com|\boutlook\.com\b|\bhotmail\b|\blive\.com\b"
                    r"|sender\.office\.com|\bS3\d{3}\b|\beop-[a-z]{3}\d|\bprod\.outlook\.com"),
        ("Exchange", r"\bRESOLVER\.[A-Z]{3}\.|\bSTOREDRV\.|\bSMTPSEND\.|\bQUEUE\.Expired"
                     r"|Microsoft ESMTP|Microsoft SMTP Server|Diagnostic information for administrators"
                     r"|did not reach some or all of the intended recipients"),
        ("Yahoo", r"\byahoo(?:inc|dns)?\.(?:com|net)\b|\byahoo\b|\baol\.com\b"),
        ("iCloud", r"\bicloud\.com\b|\bme\.com\b|\bmac\.com\b|\bapple\.com\b"),
        ("Zoho", r"\bzoho(?:mail)?\.(?:com|eu|in)\b|\bzoho\b"),
        ("Amazon SES", r"amazonses\.com|\bAmazon SES\b"),
        ("SendGrid", r"\bsendgrid\b"),
        ("Mailgun", r"\bmailgun\b"),
        ("Mimecast", r"\bmimecast\b"),
        ("Proofpoint", r"\bproofpoint\b|\bpphosted\.com\b"),
        ("Trend Micro", r"\btrend ?micro\b|\btrendmicro\b"),
        ("Spamhaus", r"spamhaus"),
        ("SpamCop", r"spamcop"),
        ("Barracuda", r"barracuda"),
        ("UCEPROTECT", r"uceprotect"),
        ("PSBL", r"psbl\.surriel\.com"),
        ("Domino", r"\bDomino\b|\bLotus Notes\b|Name & Address Book|\bDelivery Failure Report\b"),
        ("GroupWise", r"\bGroupWise\b|\bNovell\b"),
        ("IMail", r"\bIMail\b|\bIpswitch\b"),
        ("MailEnable", r"\bMailEnable\b"),
        ("MDaemon", r"\bMDaemon\b"),
        ("Kerio", r"\bKerio\b"),
        ("Zimbra", r"\bzimbra\b"),
        ("Courier", r"\bCourier mail server\b|\bcourier-mta\b|\bcourieresmtp"),
        ("Postfix", r"\bpostfix\b|Recipient address rejected|Sender address rejected"
                    r"|Client host rejected|Helo command rejected|Relay access denied"
                    r"|This is the mail system at host"),
        ("Exim", r"\bexim\b|Unrouteable address|\brejected RCPT\b|retry timeout exceeded"
                 r"|This message was created automatically by mail delivery software"
                 r"|have been failing for a long time|SMTP error from remote mail server"),
        ("Sendmail", r"\bsendmail\b|\.\.\. (?:User unknown|Relaying denied)"
                     r"|----- Transcript of session follows|The original message was received at"),
        ("qmail", r"\bqmail\b|\(#[245]\.\d{1,3}\.\d{1,3}\)"),
    )
)

#: Names that are blocklists, not mail systems (a fingerprint, but never "who wrote the bounce").
BLOCKLIST_NAMES = frozenset({"Spamhaus", "SpamCop", "Barracuda", "UCEPROTECT", "PSBL"})

#: Enhanced codes specific enough to name a bounce class: (subject, detail) -> (class, side).
_ENHANCED_CLASSES: dict[tuple[int, int], tuple[str, str | None]] = {
    (1, 1): (USER_UNKNOWN, None),
    (1, 2): (HOST_UNKNOWN, None),
    (1, 3): (USER_UNKNOWN, None),
    (1, 6): (USER_UNKNOWN, None),
    (1, 7): (SENDER_REJECTED, None),
    (1, 8): (SENDER_REJECTED, None),
    (1, 10): (DOMAIN_ACCEPTS_NO_MAIL, None),
    (2, 1): (MAILBOX_DISABLED, None),
    (2, 2): (MAILBOX_FULL, None),
    (2, 3): (MESSAGE_TOO_BIG, None),
    (3, 1): (RECEIVER_ERROR, None),
    (3, 4): (MESSAGE_TOO_BIG, None),
    (3, 5): (RECEIVER_ERROR, None),
    (4, 1): (NETWORK_ERROR, None),
    (4, 2): (NETWORK_ERROR, None),
    (4, 4): (HOST_UNKNOWN, None),
    (4, 6): (RECEIVER_ERROR, None),
    (4, 7): (EXPIRED, None),
    (5, 3): (RATE_LIMITED, None),
    (6, 6): (SPAM_CONTENT, None),
    (7, 10): (TLS_REQUIRED, None),
    (7, 11): (TLS_REQUIRED, None),
    (7, 20): (AUTH_FAILED, None),
    (7, 21): (AUTH_FAILED, None),
    (7, 22): (AUTH_FAILED, None),
    (7, 23): (AUTH_FAILED, None),
    (7, 24): (AUTH_FAILED, None),
    (7, 25): (RDNS_OR_HELO, None),
    (7, 26): (AUTH_FAILED, None),
    (7, 27): (SENDER_REJECTED, None),
    (7, 28): (RATE_LIMITED, None),
    (7, 29): (AUTH_FAILED, None),
    (7, 30): (TLS_REQUIRED, None),
}

#: Codes that only lean towards a class: used for a bounce whose words say nothing better, with
#: low confidence, and never by :func:`class_for_enhanced` (a live reply "550 5.7.1" alone is
#: not proof of anything).
_LOOSE_CLASSES: dict[tuple[int, int], str] = {
    (1, 0): USER_UNKNOWN,
    (2, 0): USER_UNKNOWN,
    (3, 0): RECEIVER_ERROR,
    (3, 2): RECEIVER_ERROR,
    (4, 3): NETWORK_ERROR,
    (4, 5): RECEIVER_ERROR,
    (5, 0): RECEIVER_ERROR,
    (6, 0): MESSAGE_MALFORMED,
    (6, 1): MESSAGE_MALFORMED,
    (6, 2): MESSAGE_MALFORMED,
    (6, 3): MESSAGE_MALFORMED,
    (6, 5): MESSAGE_MALFORMED,
    (7, 0): POLICY_REJECTED,
    (7, 1): POLICY_REJECTED,
    (7, 2): POLICY_REJECTED,
}

#: Texts longer than this are cut before matching (a bounce's diagnostic is short; this bounds
#: the work on hostile input).
MAX_TEXT = 20_000


def fingerprint(text: str) -> tuple[str, ...]:
    """Every mail system, provider or blocklist whose name or fixed phrasing appears in ``text``."""
    sample = text[:MAX_TEXT]
    lowered = sample.lower()
    return tuple(name for name, pattern, words in _FINGERPRINT_TABLE
                 if (words is None or any(word in lowered for word in words)) and pattern.search(sample))


def _literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Words one of which must be in a text for ``pattern`` to match it (lower case), or None.

    Each alternative of the pattern contributes its longest run of plain characters (or, when
    it has none long enough, the words of a group it cannot match without); an alternative
    without any means no such words exist. Checking them with ``in`` is far cheaper than running
    the pattern, and the table has hundreds of patterns for every bounce."""
    try:
        from re import _constants as constants  # type: ignore[attr-defined]
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_constants as constants
        import sre_parse as parser

    def required(items: list[tuple[object, object]]) -> list[str] | None:
        if len(items) == 1 and items[0][0] is constants.BRANCH:
            words: list[str] = []
            for alternative in items[0][1][1]:  # type: ignore[index]
                found = required(list(alternative))
                if found is None:
                    return None
                words += found
            return words
        best = run = ""
        for op, value in items:
            if op is constants.LITERAL:
                run += chr(value)  # type: ignore[arg-type]
                best = max(best, run, key=len)
            elif op is not constants.AT:
                run = ""
        if len(best) >= 3 or (len(best) >= 2 and not best.isascii()):
            return [best.lower()]
        for op, value in items:  # a group, or an alternation whose common start was factored out
            inner: list[tuple[object, object]] | None = None
            if op is constants.SUBPATTERN:
                inner = list(value[-1])  # type: ignore[index]
            elif op is constants.BRANCH:
                inner = [(op, value)]
            found = required(inner) if inner else None
            if found is not None:
                return found
        return None

    try:
        words = required(list(parser.parse(pattern.pattern, pattern.flags).data))
    except Exception:  # pragma: no cover - any surprise: no shortcut, the pattern always runs
        return None
    return tuple(words) if words else None


def provider_of(text: str) -> str | None:
    """The provider, blocklist or MTA whose wording or name appears in ``text``, if any."""
    sample = text[:MAX_TEXT]
    return next((name for name, pattern in _FINGERPRINTS if pattern.search(sample)), None)


def strip_boilerplate(text: str) -> str:
    """``text`` without the fixed sentences that every bounce of some systems carries."""
    for pattern in BOILERPLATE:
        text = pattern.sub(" ", text)
    return text


def _reply_class(code: int | None, enhanced: str | None) -> str:
    """The first digit that governs a text: the reply code's, else the enhanced code's, else ''."""
    if code is not None and 200 <= code <= 599:
        return str(code // 100)
    parts = split(enhanced) if enhanced else None
    return str(parts[0]) if parts else ""


def matches(code: int | None, enhanced: str | None, text: str,
            families: Iterable[str] = ()) -> list[tuple[Signature, re.Match[str]]]:
    """Every signature whose pattern matches ``text`` and whose conditions hold, in table order.

    A signature restricted to a reply class ("4") needs that class from the reply code or the
    enhanced code; one that needs a fingerprint needs it among ``families`` or in the text
    itself. Success and intermediate replies never match: they are not rejections.
    """
    klass = _reply_class(code, enhanced)
    if klass in ("2", "3"):
        return []
    sample = text[:MAX_TEXT]
    lowered = sample.lower()
    known = set(families)
    own: set[str] | None = None
    found: list[tuple[Signature, re.Match[str]]] = []
    for signature, words in _TABLE:
        if signature.classes and (not klass or klass not in signature.classes):
            continue
        if words is not None and not any(word in lowered for word in words):
            continue
        if signature.needs and not signature.needs & known:
            own = set(fingerprint(sample)) if own is None else own
            if not signature.needs & own:
                continue
        match = signature.pattern.search(sample)
        if match is not None:
            found.append((signature, match))
    return found


#: Every fingerprint with the words that must be present for it to match.
_FINGERPRINT_TABLE: tuple[tuple[str, re.Pattern[str], tuple[str, ...] | None], ...] = tuple(
    (name, pattern, _literals(pattern)) for name, pattern in _FINGERPRINTS)

#: Every signature with the words that must be present for it to match (see :func:`_literals`).
_TABLE: tuple[tuple[Signature, tuple[str, ...] | None], ...] = tuple(
    (signature, _literals(signature.pattern)) for signature in (*PROVIDER_SIGNATURES, *GENERIC))


def recognise(code: int | None, enhanced: str | None, text: str) -> Signature | None:
    """The strongest signature that matches ``text`` (the first in table order among equals).

    ``code`` and ``enhanced`` may be None for free text (a qmail or Exim paragraph without a
    reply line); signatures restricted to a reply class then only match if the enhanced code
    gives the class.
    """
    found = matches(code, enhanced, text)
    if not found:
        return None
    best = max(signature.strength for signature, _ in found)
    return next(signature for signature, _ in found if signature.strength == best)


def class_for_enhanced(enhanced: str | None) -> tuple[str, str | None] | None:
    """The bounce class (and a side override, if any) that an enhanced code alone proves."""
    parts = split(enhanced) if enhanced else None
    if parts is None or parts[0] == 2:
        return None
    return _ENHANCED_CLASSES.get((parts[1], parts[2]))


def loose_class_for_enhanced(enhanced: str | None) -> str | None:
    """The class an enhanced code leans towards when nothing better is known (5.7.1: a policy)."""
    parts = split(enhanced) if enhanced else None
    if parts is None or parts[0] == 2:
        return None
    return _LOOSE_CLASSES.get((parts[1], parts[2]))
