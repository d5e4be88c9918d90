"""Enhanced mail system status codes (``class.subject.detail``, e.g. ``5.7.1``) and what they mean.

RFC 3463 defines the structure and the first set of codes; later RFCs registered more in the IANA
registry (authentication in RFC 4954 and 5248, priorities in RFC 6710, RRVS in RFC 7293, DKIM/SPF/
reverse DNS failures in RFC 7372, null MX in RFC 7505, ARC in RFC 8617, REQUIRETLS in RFC 8689).
Each entry here keeps a short topic (for a one-line transcript note), a plain-words meaning, and the
document that registered it, so the explainer can cite where a meaning comes from. Pure data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The first digit of an enhanced code.
CLASS_WORDS = {2: "success", 4: "temporary failure", 5: "permanent failure"}

#: The second digit: what area of mail delivery the code is about (RFC 3463 section 3).
SUBJECT_WORDS = {
    0: "other or undefined status",
    1: "addressing status",
    2: "mailbox status",
    3: "mail system status",
    4: "network and routing status",
    5: "mail delivery protocol status",
    6: "message content or media status",
    7: "security or policy status",
}

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")


@dataclass(frozen=True)
class EnhancedCode:
    """One registered ``subject.detail`` pair (valid with any class digit)."""

    #: A few words, for a transcript note ("mailbox full").
    topic: str
    #: One plain sentence about what the code says happened.
    meaning: str
    #: The document that registered it.
    source: str


def _c(topic: str, meaning: str, source: str = "RFC 3463") -> EnhancedCode:
    return EnhancedCode(topic, meaning, source)


#: Every registered code by (subject, detail).
CODES: dict[tuple[int, int], EnhancedCode] = {
    (0, 0): _c("no specific reason", "The server gave no more specific reason than the class."),
    # X.1.* addressing
    (1, 0): _c("address problem", "Something is wrong with one of the addresses."),
    (1, 1): _c("no such mailbox", "The recipient's mailbox does not exist at that domain."),
    (1, 2): _c("no such domain or system",
               "The recipient's domain or mail system does not exist or cannot take mail."),
    (1, 3): _c("bad recipient syntax", "The recipient address is not written in a valid form."),
    (1, 4): _c("ambiguous recipient", "The recipient address matches more than one mailbox."),
    (1, 5): _c("recipient accepted", "The recipient address is valid and was accepted."),
    (1, 6): _c("mailbox moved", "The mailbox has moved and no forwarding address is known."),
    (1, 7): _c("bad sender syntax", "The sender address is not written in a valid form."),
    (1, 8): _c("bad sender domain", "The sender's domain does not exist or cannot receive replies."),
    (1, 9): _c("relayed to non-DSN mailer",
               "The message went on to a system that cannot report delivery status.", "RFC 3886"),
    (1, 10): _c("recipient domain has null MX",
                "The recipient's domain publishes a null MX: it accepts no mail at all.", "RFC 7505"),
    # X.2.* mailbox
    (2, 0): _c("mailbox problem", "The mailbox exists but something about it stops delivery."),
    (2, 1): _c("mailbox disabled", "The mailbox exists but is disabled and accepts no messages."),
    (2, 2): _c("mailbox full", "The recipient's mailbox is full (over its storage quota)."),
    (2, 3): _c("message over mailbox limit",
               "The message is larger than this mailbox's size limit."),
    (2, 4): _c("mailing list expansion problem",
               "The address is a mailing list that could not be expanded."),
    # X.3.* mail system
    (3, 0): _c("mail system problem", "The receiving mail system has a problem of its own."),
    (3, 1): _c("mail system full", "The receiving mail system is out of storage space."),
    (3, 2): _c("not accepting mail", "The receiving system is not accepting network mail now."),
    (3, 3): _c("feature not supported",
               "The message needs a feature the receiving system does not have."),
    (3, 4): _c("message too big", "The message is larger than the receiving system accepts."),
    (3, 5): _c("system misconfigured", "The receiving mail system is configured incorrectly."),
    (3, 6): _c("priority changed", "The requested message priority was changed.", "RFC 6710"),
    # X.4.* network and routing
    (4, 0): _c("network or routing problem", "Something went wrong in the network or in routing."),
    (4, 1): _c("no answer from host", "The receiving host did not answer the connection attempt."),
    (4, 2): _c("bad connection", "The connection was made but broke during the conversation."),
    (4, 3): _c("directory server failure",
               "A directory (usually DNS) lookup needed for routing failed."),
    (4, 4): _c("unable to route", "No route to the recipient's domain was found (no usable MX/A)."),
    (4, 5): _c("mail system congestion", "The mail system is congested; it will try again later."),
    (4, 6): _c("routing loop", "The message was going round in circles between servers."),
    (4, 7): _c("delivery time expired",
               "The message sat in the queue too long and the sender's server gave up."),
    # X.5.* protocol
    (5, 0): _c("protocol problem", "Something went wrong in the SMTP conversation itself."),
    (5, 1): _c("invalid command", "The server did not recognise or allow the command."),
    (5, 2): _c("syntax error", "The command could not be parsed."),
    (5, 3): _c("too many recipients", "The message has more recipients than the server allows."),
    (5, 4): _c("invalid command arguments", "A command's arguments were not valid."),
    (5, 5): _c("wrong protocol version", "The two sides speak different protocol versions."),
    (5, 6): _c("authentication line too long",
               "An AUTH exchange line was longer than the server allows.", "RFC 4954"),
    # X.6.* content and media
    (6, 0): _c("content problem", "Something about the message content stopped delivery."),
    (6, 1): _c("media not supported", "The message uses a content type the receiver does not take."),
    (6, 2): _c("conversion prohibited",
               "The message needed converting, but conversion was not allowed."),
    (6, 3): _c("conversion not supported",
               "The message needed converting, but no conversion was possible."),
    (6, 4): _c("lossy conversion", "The message was delivered, but its conversion lost something."),
    (6, 5): _c("conversion failed", "Converting the message's content failed."),
    (6, 6): _c("content not accepted",
               "The receiver refuses the message content itself.", "RFC 3886"),
    (6, 7): _c("non-ASCII address refused",
               "An internationalised (non-ASCII) address is not permitted here.", "RFC 6531"),
    (6, 8): _c("UTF-8 reply not permitted",
               "A UTF-8 reply was needed but the client did not allow one.", "RFC 6531"),
    (6, 9): _c("UTF-8 headers not transferable",
               "A message with UTF-8 headers cannot be passed on to a recipient.", "RFC 6531"),
    (6, 10): _c("UTF-8 reply not permitted",
                "A UTF-8 reply was needed but not permitted (duplicate of X.6.8).", "RFC 6531"),
    # X.7.* security and policy
    (7, 0): _c("security or policy problem", "A security or policy rule stopped the message."),
    (7, 1): _c("policy rejection",
               "The receiver's policy does not allow this delivery (often an IP or sender block)."),
    (7, 2): _c("list expansion prohibited",
               "The sender may not send to this mailing list."),
    (7, 3): _c("security conversion impossible",
               "A required security conversion could not be done."),
    (7, 4): _c("security feature not supported",
               "The message asks for a security feature the receiver does not support."),
    (7, 5): _c("cryptographic failure", "A cryptographic operation (signing, decrypting) failed."),
    (7, 6): _c("algorithm not supported", "The receiver does not support the cryptographic algorithm."),
    (7, 7): _c("integrity check failed", "The message failed an integrity check."),
    (7, 8): _c("authentication failed",
               "The SMTP AUTH user name or password was not accepted.", "RFC 4954"),
    (7, 9): _c("authentication too weak",
               "The AUTH mechanism used is too weak for this server's policy.", "RFC 4954"),
    (7, 10): _c("encryption needed", "The server requires an encrypted (TLS) connection.", "RFC 5248"),
    (7, 11): _c("encryption required for AUTH",
                "This AUTH mechanism may only be used over an encrypted connection.", "RFC 4954"),
    (7, 12): _c("password transition needed",
                "The account's password must be changed before it can log in.", "RFC 4954"),
    (7, 13): _c("account disabled", "The user account is disabled.", "RFC 5248"),
    (7, 14): _c("trust relationship required",
                "The server only accepts this from a system it has a trust relationship with.",
                "RFC 5248"),
    (7, 15): _c("priority too low", "The message's priority is too low for this server now.",
                "RFC 6710"),
    (7, 16): _c("too big for its priority",
                "The message is too big for the priority it asked for.", "RFC 6710"),
    (7, 17): _c("mailbox owner changed",
                "The mailbox has a new owner since the date the sender gave.", "RFC 7293"),
    (7, 18): _c("domain owner changed",
                "The domain has a new owner since the date the sender gave.", "RFC 7293"),
    (7, 19): _c("RRVS test impossible",
                "The require-recipient-valid-since test could not be done.", "RFC 7293"),
    (7, 20): _c("no passing DKIM signature",
                "The message had no DKIM signature that verified.", "RFC 7372"),
    (7, 21): _c("no acceptable DKIM signature",
                "No DKIM signature met the receiver's requirements.", "RFC 7372"),
    (7, 22): _c("no author-matched DKIM signature",
                "No valid DKIM signature matched the domain in the From: header.", "RFC 7372"),
    (7, 23): _c("SPF failed",
                "The sending IP is not authorised by the sender domain's SPF record.", "RFC 7372"),
    (7, 24): _c("SPF error",
                "Evaluating the sender domain's SPF record gave an error.", "RFC 7372"),
    (7, 25): _c("reverse DNS failed",
                "The sending IP has no PTR record, or its PTR name does not resolve back to it.",
                "RFC 7372"),
    (7, 26): _c("multiple authentication failures",
                "Several authentication checks (SPF, DKIM, DMARC, reverse DNS) failed together.",
                "RFC 7372"),
    (7, 27): _c("sender domain has null MX",
                "The sender's domain publishes a null MX, so replies could never reach it.",
                "RFC 7505"),
    (7, 28): _c("mail flood detected",
                "The receiver saw an unusual flood of mail from this sender and throttled it.",
                "IANA registry"),
    (7, 29): _c("ARC validation failed",
                "The message's ARC chain (forwarding authentication) did not validate.", "RFC 8617"),
    (7, 30): _c("REQUIRETLS needed",
                "The message demands TLS all the way, and the next hop cannot promise that.",
                "RFC 8689"),
}


def split(enhanced: str) -> tuple[int, int, int] | None:
    """``"5.7.1"`` -> ``(5, 7, 1)``; None when it is not an enhanced status code."""
    match = _ENHANCED.match(enhanced.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def lookup(enhanced: str) -> EnhancedCode | None:
    """The registered entry for a code (any class digit), or None."""
    parts = split(enhanced)
    return None if parts is None else CODES.get((parts[1], parts[2]))


def topic(enhanced: str) -> str:
    """A few words for a note: the registered topic, or the subject area when not registered."""
    parts = split(enhanced)
    if parts is None:
        return "unrecognised status code"
    entry = CODES.get((parts[1], parts[2]))
    if entry is not None:
        return entry.topic
    return SUBJECT_WORDS.get(parts[1], "unknown area")


def _lower_first(sentence: str) -> str:
    """Lower-case the first letter unless it starts an acronym ("SPF", "DKIM")."""
    if len(sentence) > 1 and sentence[1].isupper():
        return sentence
    return sentence[:1].lower() + sentence[1:]


#: What a success code says. The registered meanings describe problems ("X.1.0 other address
#: status"); with class 2 the same area is the one that passed, so they are not repeated for it.
SUCCESS_MEANINGS: dict[tuple[int, int], str] = {
    (0, 0): "all is well.",
    (1, 0): "the address was accepted.",
    (1, 5): "the recipient address is valid.",
    (6, 0): "the message was accepted.",
}


def enhanced_meaning(enhanced: str) -> str:
    """The registered meaning of ``X.Y.Z``, falling back to its class and subject area."""
    parts = split(enhanced)
    if parts is None:
        return f"{enhanced.strip()[:20]!r} is not an enhanced status code (class.subject.detail)."
    klass, subject, detail = parts
    words = CLASS_WORDS[klass]
    if klass == 2:
        passed = SUBJECT_WORDS.get(subject, "an unregistered area")
        said = SUCCESS_MEANINGS.get((subject, detail), "nothing went wrong.")
        return f"{words.capitalize()} ({passed}): {said}"
    entry = CODES.get((subject, detail))
    if entry is not None:
        return f"{words.capitalize()}: {_lower_first(entry.meaning)} ({entry.source})"
    area = SUBJECT_WORDS.get(subject)
    if area is None:
        return f"{words.capitalize()}, in an unregistered subject area ({subject}), detail {detail}."
    return (f"{words.capitalize()}, {area}; detail {detail} is not a registered code, so only "
            f"the area is known.")
