"""Rejection signatures: the tell-tale texts of big providers, blocklists and common MTAs.

A reply code says little ("550" covers a dozen reasons); the words after it say the rest. Each
:class:`Signature` pairs a pattern with the bounce class it proves, a few words for a transcript note,
and a plain explanation of what that particular text means. Signatures are tried in order: the
specific ones (a provider's own wording, a named blocklist) before the generic ones ("user
unknown"), and the weakest hint ("try again later" on a temporary failure) last. When no text
matches, :func:`class_for_enhanced` reads the enhanced status code instead. Pure data and lookups.
"""

from __future__ import annotations

import re

from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.providers import GENERIC, PROVIDER_SIGNATURES, Signature

__all__ = ["Signature", "class_for_enhanced", "provider_of", "recognise"]

#: Who wrote a text, judged by names and phrasing only that provider or MTA uses.
_PROVIDER_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("Gmail", r"\bgsmtp\b|\bgoogle\.com\b|\bgooglemail\.com\b|\bgmail\b"),
        ("Outlook", r"protection\.outlook\.com|\boutlook\.com\b|\bhotmail\b|\blive\.com\b"
                    r"|sender\.office\.com|\bS3\d{3}\b|\beop-[a-z]{3}\d"),
        ("Exchange", r"\bRESOLVER\.[A-Z]{3}\.|\bSTOREDRV\.|\bSMTPSEND\.|\bQUEUE\.Expired"
                     r"|Microsoft ESMTP"),
        ("Yahoo", r"\byahoo(?:inc|dns)?\.(?:com|net)\b|\byahoo\b|\baol\.com\b"),
        ("Spamhaus", r"spamhaus"),
        ("SpamCop", r"spamcop"),
        ("Barracuda", r"barracuda"),
        ("UCEPROTECT", r"uceprotect"),
        ("PSBL", r"psbl\.surriel\.com"),
        ("Postfix", r"\bpostfix\b|Recipient address rejected|Sender address rejected"
                    r"|Client host rejected|Helo command rejected|Relay access denied"),
        ("Exim", r"\bexim\b|Unrouteable address|\brejected RCPT\b|retry timeout exceeded"),
        ("Sendmail", r"\bsendmail\b|\.\.\. (?:User unknown|Relaying denied)"),
        ("qmail", r"\bqmail\b|\(#[245]\.\d{1,3}\.\d{1,3}\)"),
    )
)

#: Enhanced codes specific enough to name a bounce class: (subject, detail) -> (class, side).
_ENHANCED_CLASSES: dict[tuple[int, int], tuple[str, str | None]] = {
    (1, 1): ("user-unknown", None),
    (1, 2): ("host-unknown", None),
    (1, 3): ("user-unknown", None),
    (1, 6): ("user-unknown", None),
    (1, 8): ("host-unknown", "you"),
    (1, 10): ("host-unknown", None),
    (2, 1): ("user-unknown", None),
    (2, 2): ("mailbox-full", None),
    (2, 3): ("message-too-big", None),
    (3, 4): ("message-too-big", None),
    (4, 1): ("network-error", None),
    (4, 2): ("network-error", None),
    (4, 4): ("host-unknown", None),
    (4, 7): ("expired", None),
    (5, 3): ("rate-limited", None),
    (6, 6): ("spam-content", None),
    (7, 10): ("tls-required", None),
    (7, 11): ("tls-required", None),
    (7, 20): ("auth-failed", None),
    (7, 21): ("auth-failed", None),
    (7, 22): ("auth-failed", None),
    (7, 23): ("auth-failed", None),
    (7, 24): ("auth-failed", None),
    (7, 25): ("rdns-or-helo", None),
    (7, 26): ("auth-failed", None),
    (7, 27): ("host-unknown", "you"),
    (7, 28): ("rate-limited", None),
    (7, 29): ("auth-failed", None),
    (7, 30): ("tls-required", None),
}

#: Texts longer than this are cut before matching (a bounce's diagnostic is short; this bounds
#: the work on hostile input).
MAX_TEXT = 20_000


def provider_of(text: str) -> str | None:
    """The provider, blocklist or MTA whose wording or name appears in ``text``, if any."""
    text = text[:MAX_TEXT]
    for name, pattern in _PROVIDER_HINTS:
        if pattern.search(text):
            return name
    return None


def _reply_class(code: int | None, enhanced: str | None) -> str:
    """The first digit that governs a text: the reply code's, else the enhanced code's, else ''."""
    if code is not None and 200 <= code <= 599:
        return str(code // 100)
    parts = split(enhanced) if enhanced else None
    return str(parts[0]) if parts else ""


def recognise(code: int | None, enhanced: str | None, text: str) -> Signature | None:
    """The first signature whose pattern matches ``text`` and whose reply classes fit the code.

    ``code`` and ``enhanced`` may be None for free text (a qmail or Exim paragraph without a
    reply line); signatures restricted to a reply class then only match if the enhanced code
    gives the class. Success and intermediate replies never match: they are not rejections.
    """
    klass = _reply_class(code, enhanced)
    if klass in ("2", "3"):
        return None
    sample = text[:MAX_TEXT]
    for signature in (*PROVIDER_SIGNATURES, *GENERIC):
        if signature.classes and (not klass or klass not in signature.classes):
            continue
        if signature.pattern.search(sample):
            return signature
    return None


def class_for_enhanced(enhanced: str | None) -> tuple[str, str | None] | None:
    """The bounce class (and a side override, if any) that an enhanced code alone proves."""
    parts = split(enhanced) if enhanced else None
    if parts is None or parts[0] == 2:
        return None
    return _ENHANCED_CLASSES.get((parts[1], parts[2]))
