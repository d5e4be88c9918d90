"""The bounce classifier: one recipient's failure weighed the way a postmaster weighs it.

A postmaster does not read a bounce from top to bottom looking for a telling word. They read the
recipient's delivery-status fields first (Status, Action, the remote server's Diagnostic-Code),
then the notice's own words about that recipient, and only then the rest of the notice, never
the returned copy of the original message (the parser has cut it off). They know who wrote it
(its fingerprint), so an ambiguous phrase means what that system means by it. And they weigh
the words against the codes: "550 5.1.1 ... mailbox full" is a full mailbox whatever the code
says, but a bare "rejected" says less than a 5.1.1.

:func:`classify` does the same with scores: a signature counts by its strength (3 a system's
own phrase, 2 a specific phrase, 1 a vague hint) times where it was found (the remote server's
words 1.0, the passage about this recipient 0.85, the rest of the notice 0.6), plus a little
when the enhanced code agrees; a specific enhanced code alone counts 1.8, a loose one 0.9. The
best score wins, and its size is the confidence, with the reason in words ("Wording recognised:
Exim, 'all hosts have been failing'"). Pure: no I/O, never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from mxwizard.core.untrusted import visible
from mxwizard.knowledge.bounce_parser import RecipientReport
from mxwizard.knowledge.bounces import (
    BOUNCE_CLASSES,
    DOMAIN_ACCEPTS_NO_MAIL,
    EXPIRED,
    HOST_UNKNOWN,
    MAILBOX_DISABLED,
    MAILBOX_FULL,
    MESSAGE_TOO_BIG,
    USER_UNKNOWN,
)
from mxwizard.knowledge.enhanced import split, topic
from mxwizard.knowledge.signatures import (
    Signature,
    class_for_enhanced,
    loose_class_for_enhanced,
    matches,
    provider_of,
    strip_boilerplate,
)

__all__ = ["Classification", "classify"]

#: How much a place in the bounce counts: the server's words, this recipient's passage, the rest.
SOURCE_WEIGHTS = {"diagnostic": 1.0, "context": 0.85, "body": 0.6}
#: A specific enhanced code alone, a loose one, and what agreeing with the words adds.
CODE_SCORE, LOOSE_CODE_SCORE, AGREEMENT = 1.8, 0.9, 0.5
#: Scores from which a judgement is called high or medium confidence.
HIGH, MEDIUM = 2.5, 1.5
#: How much of the rest of a notice is read when the recipient's own passage is not enough.
MAX_BODY = 8_000
#: Conditions of the recipient's that stay the answer even when the message also expired: the
#: user acts on "the mailbox is full", not on "the queue ran out".
_STANDING = frozenset({MAILBOX_FULL, USER_UNKNOWN, MAILBOX_DISABLED, HOST_UNKNOWN,
                       DOMAIN_ACCEPTS_NO_MAIL, MESSAGE_TOO_BIG})


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
    #: "high", "medium", "low", or "none" when nothing was recognised.
    confidence: str = "none"
    #: Why, in words: the wording or code that decided it.
    why: str = ""
    #: The status was a temporary (4.x.x) error, yet the sending server gave up at once.
    made_final: bool = False
    #: The sending server retried until its time ran out, and the error it kept getting is a
    #: condition of the recipient's (a full mailbox): that condition is the class.
    gave_up: bool = False
    #: A few words for what was recognised ("IP listed by Spamhaus"), empty when nothing was.
    topic: str = ""


@dataclass(frozen=True)
class _Evidence:
    score: float
    order: int
    bounce_class: str
    side: str | None
    why: str
    signature: Signature | None = None


def _digit(report: RecipientReport) -> int | None:
    """The first digit that says temporary or permanent: the reply's, else the codes'."""
    if report.code:
        return report.code // 100
    for value in (report.enhanced, report.status):
        parts = split(value) if value else None
        if parts is not None:
            return parts[0]
    return None


def _specific(enhanced: str | None) -> bool:
    parts = split(enhanced) if enhanced else None
    return parts is not None and parts[1:] != (0, 0)


def _snippet(text: str) -> str:
    return visible(" ".join(text.split()), 60)


def _code_evidence(report: RecipientReport) -> list[_Evidence]:
    out: list[_Evidence] = []
    seen: set[str] = set()
    for order, value in enumerate((report.enhanced, report.status)):
        if not value or value in seen or not _specific(value):
            continue
        seen.add(value)
        strong = class_for_enhanced(value)
        if strong is not None:
            out.append(_Evidence(CODE_SCORE, 900 + order, strong[0], strong[1],
                                 f"Enhanced status code {visible(value, 12)}: {topic(value)}"))
            continue
        loose = loose_class_for_enhanced(value)
        if loose is not None:
            out.append(_Evidence(LOOSE_CODE_SCORE, 950 + order, loose, None,
                                 f"Only the enhanced status code {visible(value, 12)} ({topic(value)}) "
                                 "says anything"))
    if report.code in (521, 556):
        out.append(_Evidence(CODE_SCORE, 980, DOMAIN_ACCEPTS_NO_MAIL, None,
                             f"Reply code {report.code}: this domain or host accepts no mail"))
    return out


def _texts(report: RecipientReport, body: str) -> list[tuple[str, str]]:
    """The places to read, most telling first, each once."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for source, text in (("diagnostic", report.diagnostic), ("context", report.context),
                         ("body", body[:MAX_BODY])):
        clean = " ".join(strip_boilerplate(text).split()) if text else ""
        if clean and clean not in seen and not any(clean in s for s in seen):
            seen.add(clean)
            out.append((source, clean))
    return out


def _word_evidence(report: RecipientReport, body: str, families: tuple[str, ...],
                   codes: list[_Evidence]) -> list[_Evidence]:
    code_classes = {e.bounce_class for e in codes if e.score >= CODE_SCORE}
    enhanced = report.enhanced or report.status
    out: list[_Evidence] = []
    for index, (source, text) in enumerate(_texts(report, body)):
        if source == "body" and any(e.score >= MEDIUM for e in out):
            break  # the recipient's own words were enough; the rest of the notice may be about others
        for rank, (signature, match) in enumerate(matches(report.code, enhanced, text, families)):
            score = signature.strength * SOURCE_WEIGHTS[source]
            agrees = signature.bounce_class in code_classes
            if agrees:
                score += AGREEMENT
            who = f"{signature.provider}, " if signature.provider else ""
            why = f"Wording recognised: {who}'{_snippet(match[0])}'"
            if not signature.provider:
                why += " (a phrase many mail systems use)"
            if source == "context":
                why += " in the notice's passage about this recipient"
            elif source == "body":
                why += " in the notice's text"
            if agrees:
                why += f"; the enhanced code {visible(enhanced or '', 12)} agrees"
            out.append(_Evidence(score, index * 400 + rank, signature.bounce_class, signature.side,
                                 why, signature))
    return out


def _confidence(score: float) -> str:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


def _best(evidence: list[_Evidence], exclude: str | None = None) -> _Evidence | None:
    chosen = [e for e in evidence if e.bounce_class != exclude]
    if not chosen:
        return None
    return min(chosen, key=lambda e: (-e.score, e.order))


def classify(report: RecipientReport, body: str = "", families: tuple[str, ...] = ()) -> Classification:
    """Judge one recipient's failure: the class, the side, whether it is final, how sure, and why.

    ``body`` is the bounce's human-readable text (without the returned original), read only when
    the recipient's own words and passage say too little; ``families`` is the bounce's
    fingerprint, which decides between wordings that mean different things in different systems.
    A temporary error that the sending server reported as final is an expired message only when
    the bounce says so (retry time exceeded, queue lifetime, 4.4.7); otherwise the error itself
    is the class, and the report says that the server gave up at once.
    """
    codes = _code_evidence(report)
    evidence = [*_word_evidence(report, body, families, codes), *codes]
    digit = _digit(report)
    if report.action == "failed":
        permanent = True
    elif report.action == "delayed":
        permanent = False
    else:
        permanent = digit != 4
    best = _best(evidence)
    if best is None:
        if report.action == "failed" and digit == 4:
            return Classification(EXPIRED, BOUNCE_CLASSES[EXPIRED].side, True, confidence="low",
                                  why="Action 'failed' with a temporary status and no other reason: "
                                      "the sending server gave up retrying")
        return Classification(None, "none", permanent)
    klass, chosen = best.bounce_class, best
    underlying: str | None = None
    made_final = gave_up = False
    expired = _best([e for e in evidence if e.bounce_class == EXPIRED])
    if klass == EXPIRED:
        last = _best(evidence, exclude=EXPIRED)
        underlying = last.bounce_class if last is not None and last.score >= 1 else None
        if last is not None and underlying in _STANDING and last.score >= MEDIUM:
            klass, chosen, underlying, gave_up = last.bounce_class, last, None, True
    elif report.action == "failed" and digit == 4:
        if expired is not None:
            underlying, klass, chosen = klass, EXPIRED, expired
        else:
            made_final = True
    signature = chosen.signature
    reason = signature.explanation if signature is not None and signature.adds_detail else ""
    if underlying is not None and klass == EXPIRED:
        last = _best(evidence, exclude=EXPIRED)
        if last is not None and last.signature is not None and last.signature.adds_detail:
            reason = last.signature.explanation
    provider = (signature.provider if signature is not None else None) or provider_of(report.diagnostic or "")
    side = chosen.side if klass == chosen.bounce_class and chosen.side else BOUNCE_CLASSES[klass].side
    return Classification(klass, side, permanent, reason, provider, underlying,
                          _confidence(chosen.score), chosen.why, made_final, gave_up,
                          signature.topic if signature is not None else BOUNCE_CLASSES[klass].title)
