"""How bounces look: the landmarks of the free-text bounce formats of common mail systems.

RFC 3464 delivery status notifications carry machine-readable fields, but people paste what
they see: the human part of a Postfix, Exim, Sendmail, qmail, Exchange, Gmail or Yahoo bounce, a
log line, or a forwarded copy. These patterns find the pieces in such text: which system wrote
it, who reported it, which server refused, for which recipient, whether it is a final failure or
only a delay warning, and where the returned copy of the original message starts (everything
after that is the sender's own mail, not evidence). Used by :mod:`mxwizard.bounces.explain`. Pure data.
"""

from __future__ import annotations

import re

_M = re.IGNORECASE | re.MULTILINE


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _M)


#: Which mail system wrote a bounce, judged by its fixed wording (first match wins).
BOUNCE_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Gmail", _re(r"mailer-daemon@googlemail\.com|\*\* (?:Address not found|Message (?:blocked|not "
                  r"delivered)|Delivery incomplete) \*\*|Google tried to deliver your message")),
    ("Yahoo", _re(r"Sorry, we were unable to deliver your message to the following address"
                  r"|yahoo(?:inc)?\.com.*mailer-daemon|mailer-daemon@yahoo")),
    ("Exchange/Outlook", _re(r"Delivery has failed to these recipients|did not reach some or all of the"
                             r" intended recipients|Diagnostic information for "
                             r"administrators|Delivery is delayed to these recipients|Your message "
                             r"to .* couldn't be delivered|Generating server:")),
    ("qmail", _re(r"This is the qmail-send program|qmail-send")),
    ("Postfix", _re(r"This is the mail system at host|X-Postfix|\bpostfix/")),
    ("Sendmail", _re(r"The original message was received at|----- Transcript of session follows"
                     r"|The following addresses had permanent fatal errors|\bsendmail\b")),
    ("Exim", _re(r"This message was created automatically by mail delivery software"
                 r"|SMTP error from remote mail server|\bexim\b")),
)

#: Where the returned copy of the original message starts in a free-text bounce.
RETURNED_MESSAGE = _re(
    r"^[ \t]*-+ ?(?:This is a copy of the message|Original message|Below this line is a copy"
    r"|Returned mail|Forwarded message|The header of the original message|Message header follows"
    r"|Original message follows|Undelivered message headers)"
    r"|^[ \t]*--- Below this line is a copy of the message"
    r"|^[ \t]*Original message headers:"
    r"|^[ \t]*-+ ?Original Message ?-+"
)

#: Phrases that say the message is only delayed (a warning; the server still retries).
DELAYED = _re(
    r"THIS IS A WARNING ONLY|has not yet been delivered|Delivery is delayed|could not send message "
    r"for past \d+|Delivery incomplete|There was a temporary problem delivering|will (?:keep|continue)"
    r" (?:trying|to try)|still trying|delivery attempts will continue|Action: delayed|status=deferred"
)

#: Phrases that say the server has given up (a final failure).
FAILED = _re(
    r"permanent (?:fatal )?error|did not reach some or all|I'?ve given up|could not be delivered"
    r"|couldn'?t be delivered"
    r"|Delivery has failed|wasn'?t delivered|Address not found|Message (?:blocked|not delivered)"
    r"|unable to deliver your message|Undelivered Mail Returned|Undeliverable|Action: failed"
    r"|Mail delivery failed|The following address\(es\) failed|returned to sender|gave up"
    r"|status=(?:bounced|expired)"
)

#: The server that wrote the bounce.
REPORTING_MTA: tuple[re.Pattern[str], ...] = (
    _re(r"This is the mail system at host ([\w.-]+)"),
    _re(r"This is the qmail-send program at ([\w.-]+)"),
    _re(r"^[ \t]*Generating server: ([\w.-]+)"),
    _re(r"^[ \t]*Reporting-MTA: *(?:dns; *)?([\w.-]+)"),
)

#: The server that refused, with its address when the format gives one.
REMOTE_MTA: tuple[re.Pattern[str], ...] = (
    _re(r"\bhost ([\w.-]+)\[([0-9a-f.:]+)\](?::\d+)? said:"),
    _re(r"\bconnect to ([\w.-]+)\[([0-9a-f.:]+)\](?::\d+)?:"),
    _re(r"^[ \t]*host ([\w.-]+) \[([0-9a-f.:]+)\]"),
    _re(r"while talking to ([\w.-]+?)\.?:"),
    _re(r"^[ \t]*([\w.:-]+) does not like recipient"),
    _re(r"Connected to ([\w.:-]+) but"),
    _re(r"\brelay=([\w.-]+)\[([0-9a-f.:]+)\]"),
    _re(r"Remote Server at ([\w.-]+)(?: \(([0-9a-f.:]+)\))?"),
    _re(r"^[ \t]*Remote-MTA: *(?:dns; *)?([\w.-]+)"),
)

_ADDR = r"[^\s<>()\[\]\"',;:]+@[\w.-]+\.[a-z]{2,63}"

#: Where a free-text bounce names a failed recipient (first match wins; group 1 is the address).
RECIPIENT: tuple[re.Pattern[str], ...] = (
    _re(rf"^[ \t]*Final-Recipient: *(?:rfc822; *)?<?({_ADDR})"),
    _re(rf"^[ \t]*<({_ADDR})>(?: \(expanded from [^)]*\))?:"),
    _re(rf"(?:wasn'?t delivered to|delivering your message to|message to|couldn'?t be delivered to)"
        rf" <?({_ADDR})"),
    _re(rf"(?:following address(?:\(es\))? failed|permanent fatal errors -+|recipients or groups"
        rf"|cannot be reached):"
        rf"?\s+<?({_ADDR})"),
    _re(rf"RCPT TO: ?<({_ADDR})>"),
    _re(rf"\bto=<({_ADDR})>"),
    _re(rf"^[ \t]+({_ADDR})\s*$"),
)

#: A Postfix/qmail/Yahoo recipient paragraph: "<addr>: text", possibly folded over lines.
RECIPIENT_PARAGRAPH = _re(rf"^<({_ADDR})>(?: \(expanded from [^)]*\))?:[ \t]*")

#: An Exim recipient block: the address indented by two spaces, the reason lines by four.
EXIM_BLOCK = _re(rf"^  <?({_ADDR})>?[ \t]*\n((?:[ \t]{{4,}}\S.*(?:\n|$))+)")

#: A Postfix log line's reason: "status=bounced (host ... said: ...)".
LOG_REASON = _re(r"\bstatus=[a-z]+ \((.+)\)[ \t]*$")

#: The bounce's envelope or header fields that name the original sender.
SENDER: tuple[re.Pattern[str], ...] = (
    _re(rf"^[ \t]*X-Postfix-Sender: *(?:rfc822; *)?<?({_ADDR})"),
    _re(rf"^[ \t]*Original-Sender: *(?:rfc822; *)?<?({_ADDR})"),
)

#: Words at the start of a DSN field line (RFC 3464), for DSN text pasted without MIME.
DSN_FIELD = _re(
    r"^[ \t>-]*(Final-Recipient|Original-Recipient|Action|Status|Remote-MTA|Diagnostic-Code"
    r"|Reporting-MTA|Last-Attempt-Date|Will-Retry-Until|X-Postfix-Sender):[ \t]*(.*)$"
)
