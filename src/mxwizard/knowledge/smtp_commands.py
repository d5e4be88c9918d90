"""What each SMTP command asks, what the receiver checks when it answers, what EHLO lines mean.

The transcript annotator turns these into the short note beside each line and the longer
explanation shown on demand. Short notes stay under about 70 characters so they fit beside a line
in an 80-column terminal; ``{arg}`` in a note is replaced by the command's (sanitised, shortened)
argument. Facts come from RFC 5321 and the RFCs named beside each extension.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandInfo:
    """One SMTP command: the note for the line we send, and what it means in depth."""

    verb: str
    #: Short note for the command line; ``{arg}`` is the argument.
    note: str
    #: Short note for a positive (2yz/3yz) reply to this command.
    accepted: str
    #: What the command asks for, in a few sentences.
    explanation: str
    #: What a receiving server typically checks before it answers this command.
    checks: str = ""


COMMANDS: dict[str, CommandInfo] = {
    info.verb: info
    for info in (
        CommandInfo(
            "EHLO",
            "we introduce ourselves as {arg}, asking for its extensions",
            "the server greets us back; its extensions follow, one a line",
            "EHLO opens an extended SMTP session. Its argument is the name the sending server "
            "calls itself; the reply lists the extensions (STARTTLS, SIZE, ...) the server offers.",
            "Many receivers check that the name is a fully qualified host name that resolves in "
            "DNS, and some compare it with the reverse DNS (PTR) name of the connecting address.",
        ),
        CommandInfo(
            "HELO",
            "we introduce ourselves as {arg}, the old way (no extensions)",
            "the server accepts our introduction",
            "HELO is the original greeting from RFC 821. Clients use it when a server does not "
            "understand EHLO; the session then has no extensions: no STARTTLS, no SIZE.",
            "Receivers check the HELO name the same way as an EHLO name: a real, resolvable host "
            "name, sometimes matching the reverse DNS of the connecting address.",
        ),
        CommandInfo(
            "STARTTLS",
            "we ask to encrypt the rest of this connection with TLS",
            "go ahead: the TLS handshake starts now",
            "STARTTLS (RFC 3207) turns the plain connection into an encrypted one. After the "
            "handshake both sides forget what they said before and the client greets again.",
            "The server presents its certificate. Mail servers rarely insist on a trusted "
            "certificate, but a failed handshake makes many senders fall back to plain text or "
            "give up.",
        ),
        CommandInfo(
            "MAIL",
            "we name the envelope sender: {arg}",
            "the server accepts this sender",
            "MAIL FROM starts a mail transaction and gives the envelope sender, the address "
            "bounces go back to. It can differ from the From: header the reader sees.",
            "Receivers commonly check that the sender's domain exists, and many evaluate SPF at "
            "this point: is the connecting address allowed to send for that domain?",
        ),
        CommandInfo(
            "RCPT",
            "we ask whether the server takes mail for {arg}",
            "the server accepts mail for this recipient",
            "RCPT TO names one recipient of the message. It can be repeated, one recipient each "
            "time; each gets its own reply.",
            "Here the receiver decides whether it is responsible for the recipient's domain (if "
            "not, it must refuse to relay unless we are its own user), whether the mailbox "
            "exists, and whether to greylist. Blocklist and reverse-DNS verdicts often surface "
            "here too.",
        ),
        CommandInfo(
            "DATA",
            "we ask to send the message itself",
            "go ahead: send the message and end it with a lone dot",
            "DATA is followed by the message (headers and body). A line holding only a dot ends "
            "it; the reply to that dot says whether the server took responsibility for it.",
            "After the final dot the receiver runs content filters and checks DKIM signatures and "
            "the sender domain's DMARC policy.",
        ),
        CommandInfo(
            "RSET",
            "we cancel the transaction in progress and start afresh",
            "the transaction is cancelled; the connection stays open",
            "RSET throws away the sender and recipients given so far. Test tools use it between "
            "attempts so that one attempt cannot influence the next.",
        ),
        CommandInfo(
            "NOOP",
            "we check that the server is still listening",
            "the server is still there",
            "NOOP does nothing; its reply proves the connection is alive.",
        ),
        CommandInfo(
            "QUIT",
            "we say goodbye and ask the server to close the connection",
            "the server says goodbye and closes the connection",
            "QUIT ends the session politely. Leaving without it is allowed but looks careless.",
        ),
        CommandInfo(
            "VRFY",
            "we ask whether the mailbox {arg} exists",
            "the server confirms the address",
            "VRFY asks the server to confirm an address. Most servers answer 252 (cannot verify, "
            "will try) to stop address harvesting.",
        ),
        CommandInfo(
            "EXPN",
            "we ask the server to expand the mailing list {arg}",
            "the server lists the members",
            "EXPN asks for the members of a mailing list; almost every server refuses it.",
        ),
        CommandInfo(
            "HELP",
            "we ask the server for help text",
            "the server sends its help text",
            "HELP asks for human-readable help; the answer has no fixed form.",
        ),
        CommandInfo(
            "AUTH",
            "we log in with the {arg} method (credentials are never shown)",
            "logged in",
            "AUTH (RFC 4954) logs a user in, usually on the submission port. A mail exchanger "
            "receiving mail from the internet does not need it.",
        ),
        CommandInfo(
            "BDAT",
            "we send a chunk of the message ({arg})",
            "the chunk is accepted",
            "BDAT (RFC 3030, CHUNKING) sends the message in sized chunks instead of DATA.",
        ),
    )
}


@dataclass(frozen=True)
class ExtensionInfo:
    """One EHLO keyword: a short note and a longer explanation."""

    keyword: str
    note: str
    explanation: str


EXTENSIONS: dict[str, ExtensionInfo] = {
    info.keyword: info
    for info in (
        ExtensionInfo("STARTTLS", "offers encryption: we may switch to TLS with STARTTLS",
                      "The server can encrypt the connection (RFC 3207). Without it, mail to this "
                      "server crosses the network readable by anyone on the path."),
        ExtensionInfo("SIZE", "the largest message it accepts{param}",
                      "SIZE (RFC 1870) announces the largest message the server takes, in bytes; "
                      "a sender can give the size with MAIL FROM and be refused early."),
        ExtensionInfo("PIPELINING", "we may send several commands without waiting for replies",
                      "PIPELINING (RFC 2920) lets a client send groups of commands at once to save "
                      "round trips. This probe never pipelines: one command, one reply."),
        ExtensionInfo("8BITMIME", "accepts message bodies with 8-bit characters",
                      "8BITMIME (RFC 6152): the server accepts bodies that are not plain 7-bit ASCII."),
        ExtensionInfo("SMTPUTF8", "accepts addresses and headers in UTF-8",
                      "SMTPUTF8 (RFC 6531): internationalised addresses such as jörg@exämple.de."),
        ExtensionInfo("ENHANCEDSTATUSCODES", "replies carry detailed codes such as 5.1.1",
                      "ENHANCEDSTATUSCODES (RFC 2034): each reply carries a class.subject.detail "
                      "code (RFC 3463) that says more precisely what happened."),
        ExtensionInfo("DSN", "can report delivery status on request",
                      "DSN (RFC 3461): senders may ask for success or failure notifications per "
                      "recipient."),
        ExtensionInfo("AUTH", "accepts logins{param}",
                      "AUTH (RFC 4954) lists login methods. Logins are for a domain's own users "
                      "sending mail; other servers deliver to an MX without logging in."),
        ExtensionInfo("CHUNKING", "accepts the message in chunks with BDAT",
                      "CHUNKING (RFC 3030) allows BDAT, sending the message in sized chunks."),
        ExtensionInfo("BINARYMIME", "accepts binary message bodies (with BDAT)",
                      "BINARYMIME (RFC 3030) allows bodies that are raw binary, sent with BDAT."),
        ExtensionInfo("VRFY", "answers VRFY questions about addresses",
                      "The server says it supports VRFY; most answer it vaguely on purpose."),
        ExtensionInfo("EXPN", "answers EXPN questions about mailing lists",
                      "The server says it supports EXPN, expanding mailing lists."),
        ExtensionInfo("HELP", "answers HELP", "The server offers help text."),
        ExtensionInfo("ETRN", "can be asked to flush a queue for a domain (ETRN)",
                      "ETRN (RFC 1985) lets a secondary host ask this server to deliver mail "
                      "queued for a domain."),
        ExtensionInfo("DELIVERBY", "can deliver within a deadline on request",
                      "DELIVERBY (RFC 2852): a sender can ask for delivery within a time limit."),
        ExtensionInfo("REQUIRETLS", "can guarantee TLS on every hop on request",
                      "REQUIRETLS (RFC 8689): a sender can demand TLS on every hop to the mailbox."),
        ExtensionInfo("MT-PRIORITY", "accepts message priorities",
                      "MT-PRIORITY (RFC 6710): senders may mark messages as urgent or not."),
        ExtensionInfo("LIMITS", "announces its limits{param}",
                      "LIMITS (RFC 9422) announces how many recipients and transactions the server "
                      "accepts per session."),
        ExtensionInfo("XCLIENT", "lets trusted proxies pass on client details (Postfix)",
                      "XCLIENT is a Postfix extension for trusted proxies; offering it to everyone "
                      "is unusual."),
        ExtensionInfo("XFORWARD", "lets trusted filters pass on client details (Postfix)",
                      "XFORWARD is a Postfix extension for content filters."),
        ExtensionInfo("X-EXPS", "Microsoft Exchange's own login extension",
                      "X-EXPS is Exchange's proprietary authentication; it suggests an Exchange "
                      "server."),
        ExtensionInfo("XEXCH50", "Microsoft Exchange's server-to-server extension",
                      "XEXCH50 passes Exchange-specific data between Exchange servers."),
        ExtensionInfo("X-LINK2STATE", "Microsoft Exchange's routing extension",
                      "X-LINK2STATE carries routing state between Exchange servers."),
        ExtensionInfo("X-ANONYMOUSTLS", "Microsoft Exchange's internal TLS extension",
                      "X-ANONYMOUSTLS is used between Exchange servers inside one organisation."),
    )
}

#: Notes for the probe's own remarks and for what can go wrong before any reply.
CONNECT_CHECKS = (
    "Before it greets, a receiver may look up the connecting address in blocklists and its "
    "reverse DNS (PTR). Some wait a few seconds on purpose (a greet pause) and refuse clients that "
    "talk before the greeting arrives."
)
GREETING_EXPLANATION = (
    "The greeting (banner) is the server's first line. 220 means it is ready; 554 or 421 means it "
    "refuses us before we say anything, usually because of the connecting address. The name in the "
    "greeting is the server's own idea of its host name."
)
MESSAGE_NOTE = "the message itself, headers and body (not shown)"
END_OF_MESSAGE_NOTE = "a lone dot ends the message"
REDACTED_NOTE = "our answer to the login challenge (hidden)"


def command_note(verb: str, argument: str) -> str:
    """The short note for a command we send; ``argument`` must already be sanitised."""
    info = COMMANDS.get(verb.upper())
    if info is None:
        return f"a command this tool does not explain: {verb[:20]}"
    return info.note.format(arg=argument or "-")


def extension_note(keyword: str, parameters: str) -> str:
    """The short note for one EHLO extension line; both inputs must already be sanitised."""
    info = EXTENSIONS.get(keyword.upper())
    if info is None:
        if keyword.upper().startswith("X"):
            return f"{keyword[:24]}: a vendor's private extension"
        return f"{keyword[:24]}: an extension this tool does not know"
    if "{param}" not in info.note:
        return info.note
    if keyword.upper() == "SIZE":
        return info.note.format(param=_size_text(parameters))
    return info.note.format(param=f": {parameters}" if parameters else "")


def _size_text(parameters: str) -> str:
    if not parameters.strip().isdigit():
        return " (no limit given)" if not parameters.strip() else f": {parameters}"
    size = int(parameters.strip())
    if size == 0:
        return " (no limit given)"
    return f": {size / 1_000_000:.1f} MB" if size >= 1_000_000 else f": {size} bytes"


#: Signs of a broken or hostile server, by anomaly kind: (short note, explanation).
ANOMALIES: dict[str, tuple[str, str]] = {
    "unsolicited": (
        "unsolicited: sent while no command was waiting for a reply",
        "The server sent this line although we had not asked anything. Without pipelining, a "
        "server answers each command exactly once; talking out of turn is a sign of a broken or "
        "hostile server, and a real client would misread it as the answer to its next command.",
    ),
    "out-of-step": (
        "extra reply in the same segment: replies now out of step",
        "This reply arrived together with the answer to our command, although one command gets "
        "one reply. A real client would take it as the answer to its next command, and every "
        "answer after that would be paired with the wrong command. This probe kept count and "
        "ignored the extra reply.",
    ),
    "not-a-reply": (
        "not an SMTP reply: no three-digit code at the start",
        "Every SMTP reply line starts with a three-digit code. This line does not, so no client "
        "can tell what the server meant.",
    ),
    "banner-not-a-reply": (
        "the greeting is not an SMTP reply",
        "The first thing an SMTP server sends is a greeting such as '220 mx.example.org ESMTP'. "
        "What came instead is not SMTP: another service listens on this port, or a proxy or "
        "firewall answers in the server's place.",
    ),
    "mixed-codes": (
        "this line's code differs from the rest of its reply",
        "All lines of one multi-line reply must carry the same code. Mixed codes make the reply "
        "ambiguous; some clients take the first code, others the last.",
    ),
    "starttls-injection": (
        "plaintext after 220 to STARTTLS: possible injection",
        "After answering 220 to STARTTLS, a server must send nothing until the TLS handshake is "
        "done. Plaintext here is the classic STARTTLS command-injection pattern (or a broken "
        "server); clients must discard it, and this probe did.",
    ),
    "line-too-long": (
        "line cut: far longer than any real reply",
        "The server sent an endless line. RFC 5321 limits reply lines to 512 characters; this "
        "probe cut the line and stopped listening to it.",
    ),
    "incomplete-line": (
        "incomplete: the line never ended",
        "The server started this line but never finished it before the time limit or the end of "
        "the connection. Sending one byte at a time (a slow drip) is a known tarpit trick.",
    ),
}

GREET_PAUSE_EXPLANATION = (
    "The greeting came late. Some servers wait on purpose (a greet pause, often 5 seconds or "
    "more) and reject clients that talk before the greeting, because spam software often does. "
    "A sending server normally waits up to 5 minutes (RFC 5321), so a pause is not a fault unless "
    "it comes close to the sender's time limit."
)
