"""The signature table: what Gmail, Outlook/Exchange, Yahoo, the blocklists and the common MTAs
(Postfix, Exim, Sendmail, qmail) write when they refuse or delay mail, and what it means.

Order matters: :func:`mxwizard.knowledge.signatures.recognise` takes the first match, so the
specific wordings come first and the generic phrases (in :data:`GENERIC`) after them. Every
explanation is about the situation, in plain words; the bounce class adds the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Signature:
    """A recognisable rejection text and what it proves."""

    #: Who writes this text ("Gmail", "Postfix", "Spamhaus"), or None for generic phrasing.
    provider: str | None
    pattern: re.Pattern[str]
    #: The bounce class it proves (see :mod:`mxwizard.knowledge.bounces`).
    bounce_class: str
    #: A few words for a transcript note.
    topic: str
    #: What this particular text means, in one or two plain sentences.
    explanation: str
    #: Whose side, when it differs from the bounce class's usual side ("you", "them", ...).
    side: str | None = None
    #: Reply classes ("4", "5", "45") this applies to; empty for any, including free text.
    classes: str = ""
    #: Whether the explanation says more than the bounce class's own (generic phrases do not).
    adds_detail: bool = True


def _sig(provider: str | None, pattern: str, bounce_class: str, topic: str, explanation: str,
         side: str | None = None, classes: str = "") -> Signature:
    return Signature(provider, re.compile(pattern, re.IGNORECASE | re.DOTALL), bounce_class, topic,
                     explanation, side, classes)


_GMAIL = [
    _sig("Gmail", r"unusual rate of unsolicited mail.{0,200}\bblocked\b", "blocked-ip",
         "Gmail blocked your IP (unsolicited mail)",
         "Gmail saw too much unwanted mail from your IP address and now refuses it outright."),
    _sig("Gmail", r"\b4\.7\.28\b|unusual rate of unsolicited mail",
         "rate-limited", "Gmail rate limit (unusual volume)",
         "Gmail saw an unusual amount of unwanted mail from your IP address and is slowing it "
         "down. It lifts by itself once the volume and the complaints go down."),
    _sig("Gmail", r"not authori[sz]ed to send (?:e-?mail )?directly to our servers"
                  r"|use the smtp relay at your service provider", "blocked-ip",
         "Gmail: IP may not send directly (dynamic)",
         "Gmail does not take mail straight from this IP address: it belongs to a range meant for "
         "home or dynamic connections, which should hand mail to their provider's relay."),
    _sig("Gmail", r"does not have a PTR record|forward DNS entry does not point to the sending IP",
         "rdns-or-helo", "Gmail: no valid reverse DNS (PTR)",
         "Gmail checked the reverse DNS of your IP address: there is no PTR record, or its name "
         "does not resolve back to the same address."),
    _sig("Gmail", r"sender is unauthenticated|requires all senders to authenticate"
                  r"|rate limited because it is unauthenticated", "auth-failed",
         "Gmail: sender not authenticated",
         "Gmail found neither a passing SPF check nor a valid DKIM signature for your domain."),
    _sig(None, r"not accepted due to (?:the )?domain'?s DMARC policy|DMARC policy", "auth-failed",
         "DMARC policy rejection",
         "The message failed DMARC: neither SPF nor DKIM passed for the domain in the From: "
         "header, and that domain's DMARC policy asks receivers to reject such mail."),
    _sig("Gmail", r"account that you tried to reach (?:does not exist|is disabled)"
                  r"|address couldn't be found, or is unable to receive mail", "user-unknown",
         "Gmail: no such account",
         "Gmail has no account by that name (or it has been disabled)."),
    _sig("Gmail", r"very low reputation of the sending (?:IP|domain)|low reputation of the sending",
         "blocked-ip", "Gmail: poor sender reputation",
         "Gmail judges the reputation of your IP address or domain too low to accept the message."),
    _sig("Gmail", r"likely unsolicited mail|content presents a potential security issue", "spam-content",
         "Gmail: looks like spam",
         "Gmail's filters judged this particular message to be unwanted or dangerous."),
    _sig("Gmail", r"exceeded Google'?s message size limits", "message-too-big",
         "Gmail: message too big", "The message is bigger than Gmail accepts (25 MB in total)."),
    _sig("Gmail", r"HELO/EHLO argument is invalid", "rdns-or-helo", "Gmail: invalid HELO name",
         "Your server introduced itself with a HELO/EHLO name that is not a valid host name."),
    _sig("Gmail", r"\A(?=.*\bgsmtp\b).*\b4\.7\.0\b", "rate-limited", "Gmail: deferred (rate/reputation)",
         "Gmail deferred the message because of the volume or reputation of mail from your IP.",
         classes="4"),
]

_MICROSOFT = [
    _sig("Outlook", r"\bA?S31\d\d\b|part of their network is on our block list", "blocked-ip",
         "Outlook block list (S3140/S3150)",
         "Microsoft (Outlook.com, Hotmail, Microsoft 365) has your IP address or its network on "
         "its own block list. Public blocklist checks cannot see this list; ask Microsoft to "
         "delist the IP through its sender support pages (sender.office.com)."),
    _sig("Outlook", r"\b5\.7\.6[0-4]\d\b|banned sending IP", "blocked-ip",
         "Microsoft banned-IP list (5.7.606-649)",
         "Microsoft 365 refuses your IP address: it is on Microsoft's list of banned senders. "
         "The delisting form is at sender.office.com."),
    _sig("Outlook", r"\b4\.7\.650\b|rate limited due to IP reputation", "rate-limited",
         "Microsoft rate limit (IP reputation)",
         "Microsoft is slowing down mail from your IP address because its reputation is still "
         "low (typical for a new or rarely used IP)."),
    _sig("Outlook", r"\b5\.7\.708\b|traffic not accepted from this IP", "blocked-ip",
         "Microsoft refuses this IP",
         "Microsoft 365 does not accept mail from this IP address (often a cloud or low-reputation "
         "range)."),
    _sig("Outlook", r"\b5\.7\.509\b|does not pass DMARC|\b5\.7\.515\b"
                    r"|doesn'?t meet the required authentication level", "auth-failed",
         "Microsoft: authentication failed",
         "Microsoft rejected the message because your domain's SPF, DKIM or DMARC checks failed."),
    _sig("Outlook", r"AS\(201806281\)", "user-unknown", "Microsoft 365: recipient not found",
         "The receiving Microsoft 365 tenant does not know this recipient and refuses it at the door."),
    _sig("Exchange", r"RecipNotFound|RecipientNotFound|Recipient not found by SMTP address lookup",
         "user-unknown", "Exchange: recipient not found",
         "Exchange looked the address up in its directory and found no such recipient."),
    _sig("Outlook", r"\b5\.5\.0 Requested action not taken: mailbox unavailable", "user-unknown",
         "Outlook: mailbox unavailable",
         "Outlook.com answers this way for an address that has no mailbox (or a blocked one)."),
    _sig("Exchange", r"QuotaExceeded|\bmailbox full\b", "mailbox-full", "Exchange: mailbox full",
         "The recipient's mailbox is over its storage quota."),
    _sig("Exchange", r"QUEUE\.Expired|\b[45]\.4\.316\b|message expired", "expired",
         "Exchange: message expired in the queue",
         "The sending Exchange server kept retrying until the message's time in the queue ran out."),
    _sig("Exchange", r"SMTPSEND\.DNS\.NonExistentDomain|nonexistent domain", "host-unknown",
         "Exchange: domain does not exist",
         "The recipient's domain does not exist in DNS, so there is nowhere to deliver to."),
    _sig("Exchange", r"\b5\.7\.54\b|unable to relay recipient in non-accepted domain", "relay-denied",
         "Exchange: domain not accepted (relay)",
         "The server that received the message does not accept mail for this domain and will not "
         "relay it onwards."),
    _sig("Exchange", r"\b5\.7\.57\b|not authenticated to send anonymous mail", "relay-denied",
         "Exchange: log in before sending",
         "The server only relays for logged-in users, and your mail program did not log in.",
         side="you"),
]

_YAHOO = [
    _sig("Yahoo", r"\bTSS09\b|permanently deferred", "blocked-ip", "Yahoo: IP permanently deferred",
         "Yahoo has stopped accepting mail from your IP address; retrying will not help until its "
         "reputation is repaired."),
    _sig("Yahoo", r"\bTSS?0[1-4]\b|temporarily deferred due to unexpected volume or user complaints",
         "rate-limited", "Yahoo: deferred (volume or complaints)",
         "Yahoo is holding back mail from your IP address because of unusual volume or complaints."),
    _sig("Yahoo", r"\bBL2[0-3]\b|ip is in Spamhaus'?s? list", "blocked-ip",
         "Yahoo: IP on a Spamhaus list",
         "Yahoo refuses the connection because your IP address is listed by Spamhaus."),
    _sig("Yahoo", r"\A(?=.*yahoo).*\b5\.7\.9\b|\b5\.7\.9 Message not accepted for policy reasons",
         "auth-failed", "Yahoo: needs SPF or DKIM",
         "Yahoo rejected the message for policy reasons; for most senders this means it was not "
         "authenticated with SPF or DKIM (or DMARC failed)."),
    _sig("Yahoo", r"doesn'?t have a \S+ account|mailbox is disabled|\b554\.30\b", "user-unknown",
         "Yahoo: no such account", "Yahoo has no active account by that name."),
]

_BLOCKLISTS = [
    _sig("Spamhaus", r"\bdbl\.spamhaus\.org\b|spamhaus\s+dbl|listed in the DBL", "spam-content",
         "domain in message on Spamhaus DBL",
         "A domain in your message (a link, the sender or the HELO) is on the Spamhaus Domain "
         "Block List."),
    _sig("Spamhaus", r"spamhaus", "blocked-ip", "IP listed by Spamhaus",
         "Your IP address is on a Spamhaus list (SBL, XBL/CSS, or the PBL of dynamic and end-user "
         "ranges). Look the IP up at check.spamhaus.org: it says which list and how to get off it; "
         "for the PBL the answer is to send through your provider's relay."),
    _sig("SpamCop", r"spamcop", "blocked-ip", "IP listed by SpamCop",
         "Your IP address is on the SpamCop blocklist, which lists IPs that recently sent mail "
         "reported as spam. The entry expires by itself about a day after the reports stop."),
    _sig("Barracuda", r"barracuda", "blocked-ip", "IP listed by Barracuda",
         "Your IP address has a poor score in the Barracuda Reputation list; a removal request "
         "can be filed at barracudacentral.org."),
    _sig("UCEPROTECT", r"uceprotect", "blocked-ip", "IP listed by UCEPROTECT",
         "Your IP address (or its network) is on the UCEPROTECT blocklist."),
    _sig("PSBL", r"psbl\.surriel\.com|\bpsbl\b", "blocked-ip", "IP listed by PSBL",
         "Your IP address is on the Passive Spam Block List."),
    _sig("SORBS", r"\bsorbs\b", "blocked-ip", "IP listed by SORBS (closed)",
         "The receiver still consults SORBS, a blocklist that closed in 2024."),
]

_MTAS = [
    _sig("Postfix", r"Relay access denied", "relay-denied", "relay access denied",
         "The receiving server does not accept mail for this domain from you: either it is not "
         "the domain's mail server, or it does not list the domain as its own."),
    _sig("Postfix", r"User unknown in (?:virtual|local|relay) (?:mailbox|recipient|alias) table",
         "user-unknown", "Postfix: user unknown",
         "The receiving Postfix server has no mailbox by that name."),
    _sig("Postfix", r"Helo command rejected", "rdns-or-helo", "Postfix: HELO name rejected",
         "Your server introduced itself with a HELO/EHLO name the receiver does not accept (not a "
         "full host name, or one that does not resolve)."),
    _sig("Postfix", r"cannot find your (?:reverse )?hostname", "rdns-or-helo",
         "Postfix: no reverse DNS for your IP",
         "The receiver looked up the PTR record of your IP address and found none, or found a "
         "name that does not point back to the address."),
    _sig("Postfix", r"Sender address rejected: Domain not found", "host-unknown",
         "your sender domain does not resolve",
         "The receiver could not find your sender domain in DNS.", side="you"),
    _sig("Postfix", r"Recipient address rejected: Domain not found", "host-unknown",
         "recipient domain not found", "The recipient's domain does not exist in DNS."),
    _sig("Postfix", r"Client host rejected: Access denied", "blocked-ip", "Postfix: client host refused",
         "The receiver has a local rule that refuses your IP address."),
    _sig("Postfix", r"TLS is required, but (?:was not offered|our TLS engine is unavailable)"
                    r"|Cannot start TLS", "tls-required", "TLS required but unavailable",
         "The sending server insists on TLS for this destination, and TLS could not be used."),
    _sig("Postfix", r"Host or domain name not found|Name service error", "host-unknown",
         "domain has no mail server in DNS",
         "DNS has no usable MX or address record for the recipient's domain."),
    _sig("Exim", r"Unrouteable address|all relevant MX records point to non-existent hosts",
         "host-unknown", "Exim: unroutable address",
         "The sending server found no way to reach the recipient's domain: DNS names no usable "
         "mail server for it."),
    _sig("Exim", r"retry timeout exceeded|retry time not reached for any host after a long failure",
         "expired", "Exim: retry time exceeded",
         "The sending Exim server kept trying for the whole retry period and has given up."),
    _sig("Exim", r"\brelay(?:ing)? not permitted\b", "relay-denied", "Exim: relay not permitted",
         "The receiving server does not handle mail for this domain and will not relay it."),
    _sig("Sendmail", r"Cannot send message (?:within|for) \d+ (?:days?|hours?)", "expired",
         "Sendmail: gave up after days of retries",
         "The sending Sendmail server could not deliver within its queue lifetime."),
    _sig("qmail", r"no mailbox here by that name", "user-unknown", "qmail: no such mailbox",
         "The receiving qmail server has no mailbox by that name."),
    _sig("qmail", r"couldn'?t find any host (?:named|by that name)", "host-unknown",
         "qmail: no such host", "DNS has no mail server or address for the recipient's domain."),
    _sig("qmail", r"in the queue too long|I'?m not going to try again", "expired",
         "qmail: message too long in queue", "The sending qmail server retried until it gave up."),
    _sig("qmail", r"wasn'?t able to establish an SMTP connection", "network-error",
         "qmail: could not connect", "The sending server could not open a connection to any of "
         "the recipient's mail servers."),
    _sig("qmail", r"isn'?t in my list of allowed rcpthosts", "relay-denied", "qmail: not in rcpthosts",
         "The receiving qmail server does not accept mail for this domain."),
    _sig("qmail", r"isn'?t in my control/locals file", "relay-denied",
         "qmail: MX here but domain not local",
         "DNS says this server receives the domain's mail, but the server is not set up for it.",
         side="them"),
    _sig("qmail", r"over the allowed quota|mailfolder is over", "mailbox-full", "qmail: over quota",
         "The recipient's mailbox is over its quota."),
]

#: Provider- and MTA-specific signatures, tried before the generic ones.
PROVIDER_SIGNATURES: tuple[Signature, ...] = (*_GMAIL, *_MICROSOFT, *_YAHOO, *_BLOCKLISTS, *_MTAS)

#: Generic phrasing any MTA may use, from the most to the least specific.
_GENERIC: tuple[Signature, ...] = (
    _sig(None, r"\bexpired\b|queue lifetime|too long in (?:the )?queue|could not be delivered within"
               r"|delivery time (?:expired|exceeded)|maximum (?:queue )?time", "expired",
         "gave up: time in queue expired",
         "The sending server retried for as long as it is allowed to and then gave up."),
    _sig(None, r"gr[ae]y-?list", "greylisted", "greylisted: try again later",
         "The receiver greylists: it turns away the first attempt from an unknown sender and "
         "accepts the retry a few minutes later."),
    _sig(None, r"must issue a STARTTLS command first|STARTTLS (?:is )?required|TLS (?:is )?required"
               r"|requires? (?:TLS|encryption)|encryption (?:is )?(?:required|needed)|REQUIRETLS"
               r"|TLS handshake failed|certificate verification failed", "tls-required",
         "TLS required", "One side insists on an encrypted connection that was not set up."),
    _sig(None, r"\bSPF\b|sender policy framework", "auth-failed", "SPF check failed",
         "The receiver checked the sender domain's SPF record and your IP address is not allowed by it."),
    _sig(None, r"\bDKIM\b|\bDMARC\b|unauthenticated (?:e-?mail|mail|sender)", "auth-failed",
         "DKIM/DMARC check failed",
         "The message failed the receiver's DKIM or DMARC checks for your domain."),
    _sig(None, r"reverse DNS|\brDNS\b|PTR record|reverse (?:lookup|hostname)|no hostname for"
               r"|\bhelo\b(?! ?=)|\behlo\b(?! ?=)|fully.qualified", "rdns-or-helo",
         "reverse DNS or HELO rejected",
         "The receiver checks who your server says it is: the PTR record of its IP address and "
         "the name it gives in HELO/EHLO. One of them failed."),
    _sig(None, r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)"
               r"|not (?:permitted|allowed|authori[sz]ed) to relay|unable to relay|we do not relay"
               r"|does not accept mail for|not an accepted domain", "relay-denied", "relaying denied",
         "The server does not accept mail for this domain and will not pass it on."),
    _sig(None, r"host (?:not found|unknown)|unknown host|domain (?:\S+ )?(?:not found|does not exist"
               r"|doesn'?t exist)|no such domain|\bNXDOMAIN\b|unrout(?:e)?able|no MX|null MX"
               r"|non-?existent (?:domain|host)|could not resolve|does not accept mail\b", "host-unknown",
         "recipient domain cannot receive mail",
         "The recipient's domain does not exist, or publishes no mail server that can be used."),
    _sig(None, r"user unknown|unknown user|no such user|unknown (?:recipient|local.part)"
               r"|recipient unknown|no such (?:recipient|mailbox|account)|invalid (?:recipient|mailbox)"
               r"|recipient not found|mailbox (?:not found|does not exist|doesn'?t exist)"
               r"|address (?:does not exist|not found)|(?:account|mailbox|user) (?:is |has been )?"
               r"disabled|does not exist|addressee unknown", "user-unknown", "no such recipient",
         "The receiving server has no mailbox for this address."),
    _sig(None, r"mailbox (?:is )?full|over (?:the )?quota|quota exceeded|exceeded (?:its |the )?"
               r"(?:storage|quota)|out of (?:storage|space)|insufficient (?:system )?storage"
               r"|mailbox size limit|storage allocation", "mailbox-full", "mailbox full",
         "The recipient's mailbox has no room left."),
    _sig(None, r"message (?:is )?too (?:big|large)|size (?:limit|exceeds)|exceeds (?:the )?(?:fixed )?"
               r"(?:maximum|max) (?:message )?size|message length exceeds|too much mail data"
               r"|message file too big", "message-too-big", "message too big",
         "The message is larger than the receiver accepts."),
    _sig(None, r"rate.?limit|too many (?:connections|messages|recipients|concurrent|mails|errors)"
               r"|exceeded (?:the )?(?:rate|message limit|connection limit|sending limit)|throttl"
               r"|slow down|sending quota|connection limit", "rate-limited", "rate limited",
         "You are sending more, or faster, than the receiver allows from your IP address."),
    _sig(None, r"blocked using|block ?list|black ?list|\bRBL\b|\bDNSBL\b|listed (?:at|on|in|by) "
               r"|(?:IP|address) (?:reputation|blocked|banned|block)|poor reputation"
               r"|bad reputation|dynamic (?:IP|address|range|pool)|residential (?:IP|range)",
         "blocked-ip", "IP blocked (blocklist or reputation)",
         "The receiver refuses your IP address because of a blocklist entry or poor reputation."),
    _sig(None, r"\bspam\b|unsolicited|\bjunk\b|content (?:rejected|filter|not accepted)"
               r"|message content|phishing|malware|virus|infected|bulk mail|suspicious", "spam-content",
         "rejected as spam (content)",
         "The receiver's filters judged the message itself to be spam or dangerous."),
    _sig(None, r"connection (?:timed out|refused|reset|closed|lost)|timed out|no route to host"
               r"|network is unreachable|lost connection|unable to connect|could not connect"
               r"|couldn'?t connect|host is down|cannot connect", "network-error",
         "connection failed", "The sending server could not hold a conversation with the receiver."),
    _sig(None, r"try (?:again )?later|temporarily (?:rejected|deferred|unavailable)|please retry",
         "greylisted", "temporary refusal: try again later",
         "The receiver asked the sender to come back later. With no other reason given, this is "
         "usually greylisting, which resolves itself on the next retry.", classes="4"),
)

#: The generic signatures; only the SPF and DKIM/DMARC ones say more than their bounce class.
GENERIC: tuple[Signature, ...] = tuple(
    sig if sig.topic in ("SPF check failed", "DKIM/DMARC check failed") else replace(sig, adds_detail=False)
    for sig in _GENERIC
)
