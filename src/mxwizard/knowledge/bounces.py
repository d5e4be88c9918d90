"""The bounce classes: every reason a message comes back, whose side it is on, and what to do.

A bounce (or a refusal in an SMTP session) falls into one of a small number of classes that
postmasters recognise at a glance: the address does not exist, the mailbox is full, your IP is
on a blocklist, your domain failed SPF/DKIM/DMARC, and so on (DESIGN.md §4). For each class this
module holds a plain explanation for someone who has never run a mail server, the fix, whose side
the fault is usually on, and which branch of the wizard and which ``mxwizard check`` command to
run next. Sides are the strings of :class:`mxwizard.core.findings.Side` ("you", "them",
"network", "none"), kept as plain strings so this module stays free of imports. Pure data.

The class names are shared with the live checks (:func:`mxwizard.knowledge.replies.meaning`
answers with them), so a name, once given, keeps its meaning: new reasons get new names.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Placeholders in ``next_check`` that :meth:`BounceClass.command` fills in when it can.
YOU, THEM, THEIR_DOMAIN = "YOU@YOUR-DOMAIN", "THEM@THEIR-DOMAIN", "THEIR-DOMAIN"
#: The HELO placeholder of the reverse-DNS/HELO check.
HELO_NAME = "YOUR-HELO-NAME"


# The bounce classes' names: every module that names a class uses these (a misspelt constant is
# an error at import, a misspelt string a class that silently never matches).
USER_UNKNOWN = "user-unknown"
MAILBOX_FULL = "mailbox-full"
HOST_UNKNOWN = "host-unknown"
RELAY_DENIED = "relay-denied"
BLOCKED_IP = "blocked-ip"
AUTH_FAILED = "auth-failed"
RDNS_OR_HELO = "rdns-or-helo"
SPAM_CONTENT = "spam-content"
RATE_LIMITED = "rate-limited"
GREYLISTED = "greylisted"
EXPIRED = "expired"
MESSAGE_TOO_BIG = "message-too-big"
TLS_REQUIRED = "tls-required"
NETWORK_ERROR = "network-error"
SENDER_REJECTED = "sender-rejected"
MAILBOX_DISABLED = "mailbox-disabled"
POLICY_REJECTED = "policy-rejected"
RECEIVER_ERROR = "receiver-error"
VIRUS = "virus"
MESSAGE_MALFORMED = "message-malformed"
DOMAIN_ACCEPTS_NO_MAIL = "domain-accepts-no-mail"


@dataclass(frozen=True)
class BounceClass:
    """One reason for a bounce."""

    name: str
    #: Whose side the fault is usually on: "you", "them", "network" or "none".
    side: str
    #: The headline, in plain words.
    title: str
    #: What happened and why, for a novice.
    explanation: str
    #: What to do about it.
    fix: str
    #: The wizard branch that investigates it: "send", "receive" or "none".
    branch: str
    #: The check to run next, with YOU / THEM / THEIR-DOMAIN placeholders.
    next_check: str

    def command(self, you: str | None = None, them: str | None = None, ip: str | None = None,
                helo: str | None = None) -> str:
        """The next ``mxwizard check`` command with the addresses, IP and HELO filled in where
        known."""
        return fill(self.next_check, you, them, ip, helo)


def fill(template: str, you: str | None = None, them: str | None = None, ip: str | None = None,
         helo: str | None = None) -> str:
    """Replace the placeholders of a command with what a bounce named.

    A send check also gets ``--ip`` and ``--helo`` when the bounce names the sending server's
    address or HELO name, so the check tests the server that was refused, not a guess.
    """
    text = template
    if them:
        text = text.replace(THEM, them)
        if "@" in them:
            text = text.replace(THEIR_DOMAIN, them.rsplit("@", 1)[1])
    if you:
        text = text.replace(YOU, you)
    if helo:
        text = text.replace(HELO_NAME, helo)
    if text.startswith("mxwizard check send "):
        options = [f"--ip {ip}" if ip and " --ip " not in text else "",
                   f"--helo {helo}" if helo and " --helo " not in text else ""]
        if any(options):
            text = _after_addresses(text, " ".join(o for o in options if o))
    return text


def _after_addresses(command: str, option: str) -> str:
    """Insert an option right after ``--to ADDR`` (before selectors and files)."""
    words = command.split(" ")
    at = words.index("--to") + 2 if "--to" in words else len(words)
    return " ".join([*words[:at], *option.split(" "), *words[at:]])


#: The send check, for faults on the sender's side.
SEND_CHECK = f"mxwizard check send --from {YOU} --to {THEM}"
_SEND = SEND_CHECK
_RECEIVE = f"mxwizard check receive {THEIR_DOMAIN}"
_MAILBOX = f"mxwizard check receive {THEIR_DOMAIN} --mailbox {THEM}"

_CLASSES = (
    BounceClass(
        USER_UNKNOWN, "them", "The recipient's address does not exist",
        "The receiving server answered that it has no mailbox by this name. Either the address "
        "is mistyped, or the person has left, changed address or closed the account.",
        "Check the spelling of the address letter by letter and ask the recipient for their "
        "current address by another channel. Sending again to the same address will not help.",
        "receive", _MAILBOX,
    ),
    BounceClass(
        MAILBOX_FULL, "them", "The recipient's mailbox is full",
        "The address exists, but the mailbox has used up its storage quota, so the server takes "
        "nothing more until the owner deletes mail. Abandoned mailboxes often end up like this.",
        "Nothing is wrong on your side. Tell the recipient by another channel, or send again in "
        "a few days; if it keeps happening the mailbox is probably abandoned.",
        "none", _MAILBOX,
    ),
    BounceClass(
        HOST_UNKNOWN, "them", "The recipient's domain cannot receive mail",
        "The part after the @ does not exist in DNS, or it publishes no mail server (MX) that "
        "can be found or routed to. If the domain is mistyped, the fault is yours; otherwise "
        "their DNS is broken.",
        "Check the domain for typos (gmial.com, outlok.com). If it is right, the recipient's "
        "administrator has to fix the domain's MX records; the receive check shows what is wrong.",
        "receive", _RECEIVE,
    ),
    BounceClass(
        RELAY_DENIED, "them", "The receiving server does not accept mail for this domain",
        "The server your message reached refused to take it for that domain: it is not (or no "
        "longer) the domain's mail server, or it has not been told that the domain is its own "
        "(the 'accepted domains' mistake). When you get this from your own provider's server, "
        "your mail program is not logged in, and it will not relay for strangers.",
        "If the domain's MX records point to the wrong server, or that server is missing the "
        "domain in its accepted/local domains, the recipient's administrator must fix it. If you "
        "send through your provider, turn on 'my server requires authentication' (port 587).",
        "receive", _RECEIVE,
    ),
    BounceClass(
        BLOCKED_IP, "you", "Your server's IP address is blocked",
        "The receiver refused the connection because of the IP address your mail comes from: it "
        "is on a public blocklist (Spamhaus, SpamCop, Barracuda...), on a provider's own list "
        "(Microsoft, Yahoo), in a range meant for home or dynamic connections, or its reputation "
        "is simply poor. The message itself was not even looked at.",
        "Find out why the IP is listed (an infected machine, an open relay, a compromised "
        "account sending spam), fix that first, then ask for delisting at the list named in the "
        "bounce. From a home or dynamic address, send through your ISP's or provider's relay.",
        "send", _SEND,
    ),
    BounceClass(
        AUTH_FAILED, "you", "Your domain failed authentication (SPF, DKIM or DMARC)",
        "The receiver checked whether your server is allowed to send for your domain: the SPF "
        "record does not list your IP, or the DKIM signature is missing or broken, and your "
        "DMARC policy (or the receiver's own rules) says to refuse such mail.",
        "Publish an SPF record that includes every server that sends your mail, sign outgoing "
        "mail with DKIM and publish the key, then re-test. The send check shows which record is "
        "wrong and prints the record to publish.",
        "send", f"{_SEND} --dkim-selector SELECTOR",
    ),
    BounceClass(
        RDNS_OR_HELO, "you", "Your server's reverse DNS or HELO name was rejected",
        "Receivers check who your server claims to be: the IP address needs a PTR (reverse DNS) "
        "record, that name must resolve back to the same IP, and the name your server gives in "
        "HELO/EHLO must be a real, fully qualified host name. One of these failed.",
        "Ask whoever owns the IP address (your ISP or hosting provider) to set its PTR record to "
        "your mail server's name, make that name's A record point to the IP, and configure the "
        "server to use the same name in HELO.",
        "send", f"{_SEND} --helo {HELO_NAME}",
    ),
    BounceClass(
        SPAM_CONTENT, "you", "The message itself was judged to be spam",
        "The receiver accepted the connection but its filters scored the message as spam or "
        "dangerous: the wording, the links (a linked domain on a blocklist), attachments, or "
        "missing authentication made it look unwanted.",
        "Send a plain test message to the same address to confirm it is the content. Remove "
        "link shorteners and listed domains, avoid attachment-only mail, and make sure the "
        "message is DKIM-signed.",
        "send", f"{_SEND} --message FILE.eml",
    ),
    BounceClass(
        RATE_LIMITED, "you", "You are sending too much, too fast",
        "The receiver limits how many messages or connections it takes from one IP address in a "
        "given time, and you went over it. New IP addresses and senders with complaints get much "
        "lower limits.",
        "Slow down: lower the number of parallel connections and messages per connection, and "
        "let the queue retry. If you send newsletters, send only to people who asked for them.",
        "send", _SEND,
    ),
    BounceClass(
        GREYLISTED, "none", "The receiver asked to try again later (greylisting)",
        "Greylisting: the receiver turns away the first attempt from a sender it has not seen "
        "before, because real mail servers come back and most spam tools do not. The message "
        "is still in your server's queue.",
        "Nothing to do: your server will retry on its own and the retry is normally accepted "
        "after a few minutes. Only if it still fails after some hours, check that your server "
        "retries from the same IP address.",
        "none", _RECEIVE,
    ),
    BounceClass(
        EXPIRED, "network", "Your server gave up after retrying for days",
        "The message could not be delivered for so long that your server's queue lifetime ran "
        "out (often five days). The real cause is the temporary error it kept getting: the "
        "receiving servers were unreachable, refused for now, or kept deferring.",
        "Look at the last error in the bounce: it says why every retry failed. Check that the "
        "recipient's mail servers answer on port 25 from your network, then send again.",
        "receive", _RECEIVE,
    ),
    BounceClass(
        MESSAGE_TOO_BIG, "you", "The message is too big",
        "The receiver refuses messages over its size limit. Attachments grow by about a third "
        "when they are encoded for mail, so a 20 MB file needs about 27 MB.",
        "Send the file as a link (a shared folder or file transfer service), or split it "
        "across several messages. The receive check shows the limit the server announces "
        "(SIZE in its EHLO answer).",
        "receive", _RECEIVE,
    ),
    BounceClass(
        TLS_REQUIRED, "you", "An encrypted (TLS) connection was required",
        "One side insists on encryption: the receiver wants STARTTLS before it takes the "
        "message, or your server is set to deliver only over TLS and the receiver did not offer "
        "it or its certificate did not check out.",
        "Enable STARTTLS for outgoing mail on your server (opportunistic TLS is the normal "
        "setting). If your server requires verified TLS for this domain, check the receiver's "
        "certificate with the receive check.",
        "receive", _RECEIVE,
    ),
    BounceClass(
        NETWORK_ERROR, "network", "Your server could not connect to the receiver",
        "The connection to the recipient's mail server timed out, was refused or broke off, "
        "or the server's name could not be looked up at that moment. Either their server is "
        "down, or something in between (often your ISP or cloud provider, which block outgoing "
        "port 25) stops the traffic.",
        "Check whether their mail servers answer on port 25, and whether your network lets you "
        "reach port 25 at all: timeouts to several unrelated mail servers point to your ISP "
        "blocking port 25, and then you must send through its relay.",
        "receive", _RECEIVE,
    ),
    BounceClass(
        SENDER_REJECTED, "you", "The receiver refused your sender address",
        "The receiving server does not accept mail from the address (or domain) in your "
        "envelope sender: it does not exist in DNS, it could not be verified, it is on the "
        "receiver's own list of refused senders, or the recipient has blocked you.",
        "Check that the sender address is spelled right and that its domain resolves and "
        "receives mail (replies and bounces must be able to reach it). If the receiver blocked "
        "you on purpose, only its postmaster or the recipient can lift it.",
        "send", _SEND,
    ),
    BounceClass(
        MAILBOX_DISABLED, "them", "The recipient's mailbox is disabled",
        "The address exists, but its mailbox has been suspended, deactivated or closed (an "
        "account left unused for a long time, an employee who has left, an unpaid account), "
        "so it accepts no mail.",
        "Nothing on your side: reach the recipient by another channel and ask for a working "
        "address. Resending will bounce again until the account is re-activated.",
        "none", _MAILBOX,
    ),
    BounceClass(
        POLICY_REJECTED, "them", "The receiver's policy refused the message",
        "The receiving side has a rule that refuses this delivery: the recipient accepts mail "
        "only from certain senders or only from inside its organisation, a distribution list "
        "is restricted, or a gateway (Mimecast, Proofpoint, Barracuda...) applies a policy that "
        "is not about your server's identity.",
        "Ask the recipient (or their mail administrator) by another channel to allow your "
        "address or domain. The reply text usually names the rule; there is nothing to change "
        "on your server unless it points to your address or content.",
        "none", _SEND,
    ),
    BounceClass(
        RECEIVER_ERROR, "them", "The receiving mail system has a problem of its own",
        "The receiver's server failed internally: its disk or mail store is full, a component "
        "(the mailbox store, a filter, a directory lookup) returned an error, it is "
        "misconfigured, or the message went round in a loop between its servers.",
        "Nothing is wrong on your side. Resend later; if it keeps failing, tell the recipient's "
        "postmaster, quoting the error, since only they can repair their server.",
        "receive", _RECEIVE,
    ),
    BounceClass(
        VIRUS, "you", "The message was refused as carrying a virus or dangerous attachment",
        "The receiver's virus scanner found malware in the message, or refuses the attachment "
        "type (executables, scripts, macro documents, encrypted archives it cannot scan).",
        "Scan the sending computer and the attached file. If the file is clean, share it as a "
        "link or in another format (PDF instead of a macro document, no .exe or .js); never "
        "just resend the same attachment.",
        "send", f"{_SEND} --message FILE.eml",
    ),
    BounceClass(
        MESSAGE_MALFORMED, "you", "The message is not properly formed",
        "The receiver refuses the message because it breaks the mail format rules: a missing "
        "or duplicated header (Date, From, Message-ID), bare line feeds, invalid characters or "
        "an unreadable MIME structure. It is usually the sending program or a script that "
        "builds the message by hand.",
        "Send the same message with an ordinary mail program to see whether it passes. If your "
        "application or script builds the message, use a proper mail library, and make sure it "
        "adds a single From, Date and Message-ID header and uses CRLF line endings.",
        "send", f"{_SEND} --message FILE.eml",
    ),
    BounceClass(
        DOMAIN_ACCEPTS_NO_MAIL, "them", "The recipient's domain says it accepts no mail",
        "The domain publishes a 'null MX' (RFC 7505), or its server answers 521/556: its owner "
        "declares that no address at that domain ever receives mail. It is often a domain used "
        "only for a web site, or a mistyped address.",
        "Check the domain for typos and ask the recipient for an address that receives mail. "
        "Retrying will never work while the domain says so.",
        "receive", _RECEIVE,
    ),
)

#: The bounce classes by name.
BOUNCE_CLASSES: dict[str, BounceClass] = {c.name: c for c in _CLASSES}

#: What the explainer says when no class fits.
UNKNOWN_ADVICE = (
    "The text did not match any rejection this tool knows. Read the server's own words in the "
    "evidence below: they usually name the reason. If the reply starts with 4, the sending "
    "server keeps retrying; with 5, it has given up. Running the send check against the same "
    f"recipient ({_SEND}) tests the usual suspects: reverse DNS, HELO, blocklists, SPF and DKIM."
)


#: How the wizard's welcome screen names each branch (the same words as its menu, so a fix
#: that quotes them can be followed; a test holds them to the screen's own labels).
BRANCH_LABELS = {
    "send": "I can't send: my mail is rejected, bounced or lost",
    "receive": "I can't receive: mail to my domain does not arrive",
}


def bounce_class(name: str) -> BounceClass | None:
    """The class named ``name``, or None."""
    return BOUNCE_CLASSES.get(name)
