"""Rules for the headers of a sent message (``--message``) that the big providers look at.

RFC 5322 asks for one From with one address, a Date and a Message-ID; Gmail refuses messages
without a valid From or Message-ID. RFC 8058's one-click unsubscribe, which Gmail and Yahoo
require of bulk mail, needs a ``List-Unsubscribe`` header with an ``https:`` address, the exact
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and a valid DKIM signature that covers
both (so nobody on the way can point the click elsewhere). The checklist
(:mod:`mxwizard.diagnosis.rules.checklist`) uses the same judgements for its rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.probes.dkim import Verdict
from mxwizard.probes.message_headers import ONE_CLICK, MessageHeaders

if TYPE_CHECKING:
    from mxwizard.diagnosis.rules.checklist import SenderFacts


def _signed_unsubscribe(facts: SenderFacts) -> bool:
    """A valid DKIM signature of the message covers both unsubscribe headers (RFC 8058 §3)."""
    message = facts.dkim.message if facts.dkim is not None else None
    if message is None:
        return False
    wanted = {"list-unsubscribe", "list-unsubscribe-post"}
    return any(s.verdict is Verdict.VALID and wanted <= {h.lower() for h in s.signed_headers}
               for s in message.signatures)


def unsubscribe_problems(facts: SenderFacts) -> list[str]:
    """What stops the message's unsubscribe headers from being RFC 8058 one-click."""
    headers = facts.headers
    if headers is None:
        return []
    if not headers.list_unsubscribe:
        return ["the message has no List-Unsubscribe header"]
    out = []
    if not headers.https_unsubscribe:
        out.append("List-Unsubscribe offers no https: address")
    if headers.list_unsubscribe_post != (ONE_CLICK,):
        out.append(f"List-Unsubscribe-Post is not exactly '{ONE_CLICK}'")
    if not _signed_unsubscribe(facts):
        out.append("no valid DKIM signature covers List-Unsubscribe and List-Unsubscribe-Post")
    return out


UNSUBSCRIBE_FIX = ("Add both headers, and sign them with DKIM (list them in h=):\n"
                   "  List-Unsubscribe: <https://YOUR-SITE/unsubscribe?id=...>, "
                   "<mailto:unsubscribe@YOUR-DOMAIN?subject=unsubscribe>\n"
                   f"  List-Unsubscribe-Post: {ONE_CLICK}\n"
                   "The https address must unsubscribe on a POST without any further page, and "
                   "the request must be honoured within two days.")


def header_problems(headers: MessageHeaders) -> list[str]:
    """RFC 5322 problems of the From, Date and Message-ID headers."""
    out = [p for p in (headers.from_problem, headers.date_problem) if p]
    if not headers.message_ids:
        out.append("the message has no Message-ID header")
    elif not headers.message_id_ok:
        out.append("the Message-ID is not one <left@right> identifier")
    return out


HEADERS_FIX = ("Let the mail program that makes the message add one From with one valid address, "
               "a Date and a Message-ID (<unique@your-domain>), as RFC 5322 requires.")


def judge_message(facts: SenderFacts) -> list[Finding]:
    """message.unsubscribe-* and message.headers-* for the message of a send check."""
    headers = facts.headers
    if headers is None or headers.problem:
        return []
    out: list[Finding] = []
    shown = tuple(visible(f"{name}: {value}", 300) for name, values in (
        ("From", headers.from_values), ("Date", headers.dates), ("Message-ID", headers.message_ids),
        ("List-Unsubscribe", headers.list_unsubscribe),
        ("List-Unsubscribe-Post", headers.list_unsubscribe_post)) for value in values[:2])
    problems = unsubscribe_problems(facts)
    if not headers.list_unsubscribe:
        out.append(Finding(
            "message.unsubscribe-missing", Status.WARN, "The message has no List-Unsubscribe header",
            detail=("Gmail and Yahoo require one-click unsubscribe (RFC 8058) in marketing and "
                    "subscribed mail from bulk senders, and Outlook.com asks for a working "
                    "unsubscribe link; without it such mail goes to spam or is refused."),
            fix=UNSUBSCRIBE_FIX, side=Side.YOU, evidence=shown))
    elif problems:
        out.append(Finding(
            "message.unsubscribe-not-one-click", Status.WARN,
            "The message's unsubscribe headers are not RFC 8058 one-click",
            detail="Gmail and Yahoo need one-click unsubscribe for bulk mail: " + "; ".join(problems) + ".",
            fix=UNSUBSCRIBE_FIX, side=Side.YOU, evidence=shown))
    else:
        out.append(Finding("message.unsubscribe-ok", Status.PASS,
                           "The message offers one-click unsubscribe (RFC 8058)",
                           detail="List-Unsubscribe has an https: address, List-Unsubscribe-Post "
                                  "says One-Click, and a valid DKIM signature covers both.",
                           evidence=shown))
    bad = header_problems(headers)
    if bad:
        severe = bool(headers.from_problem) or not headers.message_id_ok
        out.append(Finding(
            "message.headers-invalid", Status.FAIL if severe else Status.WARN,
            "The message's headers break RFC 5322",
            detail=("; ".join(visible(p, 200) for p in bad) + ". Gmail refuses messages without "
                    "a valid From or Message-ID, and every provider scores malformed headers as "
                    "spam."),
            fix=HEADERS_FIX, side=Side.YOU, evidence=shown))
    else:
        out.append(Finding("message.headers-ok", Status.PASS,
                           "The message has one valid From, a Date and a Message-ID",
                           evidence=shown))
    return out
