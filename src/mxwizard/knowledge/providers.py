"""The signature table: what mail systems write when they refuse, delay or give up on mail.

Each :class:`Signature` is one recognisable wording and the bounce class it proves. The table is
organised by who writes the words: the big mailbox providers (Gmail, Microsoft, Yahoo/AOL,
iCloud, Zoho...), the gateways in front of company mail (Mimecast, Proofpoint, Barracuda, Trend
Micro), the blocklists, the mail servers (Postfix, Exim, Sendmail, qmail, Courier, Domino,
GroupWise, IMail, MailEnable, MDaemon, Kerio, Zimbra) and the sending services (Amazon SES,
SendGrid, Mailgun), then generic phrasing any system may use, in English, French, German,
Spanish and Japanese. The wordings are written from the systems' public documentation and from
what their bounces are known to say; they are patterns, not copies.

Every signature carries a *strength*: 3 for a system's own fixed phrase (it proves the class),
2 for a specific common phrase ("user unknown"), 1 for a vague hint ("access denied", "try again
later"). The classifier weighs it against the status codes and against where in the bounce the
words were found (:mod:`mxwizard.bounces.rules`). A signature may also need a *fingerprint*
(``needs``): an ambiguous wording that means one thing only when a given system wrote it (Gmail's
bare ``4.7.0``, Yahoo's ``5.7.9``). Pure data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from mxwizard.knowledge.bounces import (
    AUTH_FAILED,
    BLOCKED_IP,
    DOMAIN_ACCEPTS_NO_MAIL,
    EXPIRED,
    GREYLISTED,
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
    RELAY_DENIED,
    SENDER_REJECTED,
    SPAM_CONTENT,
    TLS_REQUIRED,
    USER_UNKNOWN,
    VIRUS,
)


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
    #: 3 a system's own fixed phrase, 2 a specific common phrase, 1 a vague hint.
    strength: float = 3
    #: Fingerprints (families from :func:`mxwizard.knowledge.signatures.fingerprint`) of which
    #: one must be present for this wording to count; empty when the words alone are enough.
    needs: frozenset[str] = field(default_factory=frozenset)


def _sig(provider: str | None, pattern: str, bounce_class: str, topic: str, explanation: str,
         side: str | None = None, classes: str = "", strength: float = 3,
         needs: tuple[str, ...] = ()) -> Signature:
    return Signature(provider, re.compile(pattern, re.IGNORECASE | re.DOTALL), bounce_class, topic,
                     explanation, side, classes, True, strength, frozenset(needs))


_GMAIL = [
    _sig("Gmail", r"unusual rate of unsolicited mail.{0,200}\bblocked\b", BLOCKED_IP,
         "Gmail blocked your IP (unsolicited mail)",
         "Gmail saw too much unwanted mail from your IP address and now refuses it outright."),
    _sig("Gmail", r"\b4\.7\.28\b|unusual rate of unsolicited mail",
         RATE_LIMITED, "Gmail rate limit (unusual volume)",
         "Gmail saw an unusual amount of unwanted mail from your IP address and is slowing it "
         "down. It lifts by itself once the volume and the complaints go down."),
    _sig("Gmail", r"not authori[sz]ed to send (?:e-?mail )?directly to our servers"
                  r"|use the smtp relay at your service provider", BLOCKED_IP,
         "Gmail: IP may not send directly (dynamic)",
         "Gmail does not take mail straight from this IP address: it belongs to a range meant for "
         "home or dynamic connections, which should hand mail to their provider's relay."),
    _sig("Gmail", r"does not have a PTR record|forward DNS entry does not point to the sending IP",
         RDNS_OR_HELO, "Gmail: no valid reverse DNS (PTR)",
         "Gmail checked the reverse DNS of your IP address: there is no PTR record, or its name "
         "does not resolve back to the same address."),
    _sig(None, r"sender is unauthenticated|requires all senders to authenticate"
               r"|rate limited because it is unauthenticated|does not have authentication "
               r"information or fails to pass authentication", AUTH_FAILED,
         "sender not authenticated (SPF/DKIM)",
         "The receiver found neither a passing SPF check nor a valid DKIM signature for your "
         "domain, and it takes no unauthenticated mail."),
    _sig(None, r"not accepted due to (?:the )?domain'?s DMARC policy|DMARC policy", AUTH_FAILED,
         "DMARC policy rejection",
         "The message failed DMARC: neither SPF nor DKIM passed for the domain in the From: "
         "header, and that domain's DMARC policy asks receivers to reject such mail."),
    _sig("Gmail", r"isn'?t aligned with either the authenticated SPF or DKIM", AUTH_FAILED,
         "Gmail: From domain not aligned",
         "Gmail requires the domain in the From: header to match the domain that passed SPF or "
         "DKIM; in this message it does not."),
    _sig("Gmail", r"account that you tried to reach does not exist"
                  r"|address couldn'?t be found, or is unable to receive mail", USER_UNKNOWN,
         "Gmail: no such account", "Gmail has no account by that name."),
    _sig("Gmail", r"account that you tried to reach (?:is|has been) (?:disabled|inactive)"
                  r"|account that you tried to reach is (?:no longer|not) active", MAILBOX_DISABLED,
         "Gmail: account disabled",
         "The Google account exists but has been disabled or left inactive, so it receives no "
         "mail."),
    _sig("Gmail", r"account that you tried to reach is over quota|inbox is out of storage space"
                  r"|OverQuota(?:Temp|Perm)", MAILBOX_FULL, "Gmail: mailbox over quota",
         "The recipient's Google storage is used up, so Gmail takes no more mail for it."),
    _sig("Gmail", r"receiving mail at a rate that prevents additional messages", RATE_LIMITED,
         "Gmail: recipient receives too fast",
         "The recipient's mailbox is receiving so much mail that Gmail holds back more for now; "
         "it is about the recipient, not your server.", side="them"),
    _sig("Gmail", r"very low reputation of the sending (?:IP|domain)|low reputation of the sending",
         BLOCKED_IP, "Gmail: poor sender reputation",
         "Gmail judges the reputation of your IP address or domain too low to accept the message."),
    _sig("Gmail", r"likely unsolicited mail|likely suspicious due to", SPAM_CONTENT,
         "Gmail: looks like spam",
         "Gmail's filters judged this particular message to be unwanted."),
    _sig("Gmail", r"content presents a potential security issue|blocked because its content presents"
                  r"|detected a (?:virus|malware)", VIRUS,
         "Gmail: attachment or content is dangerous",
         "Gmail refused the message because of what it carries: an attachment type it blocks "
         "(executables, scripts) or a file its scanners found dangerous."),
    _sig("Gmail", r"exceeded Google'?s message size limits", MESSAGE_TOO_BIG,
         "Gmail: message too big", "The message is bigger than Gmail accepts (25 MB in total)."),
    _sig("Gmail", r"HELO/EHLO argument is invalid", RDNS_OR_HELO, "Gmail: invalid HELO name",
         "Your server introduced itself with a HELO/EHLO name that is not a valid host name."),
    _sig("Gmail", r"missing a valid Message-ID|not RFC ?5322 compliant|Mail message is malformed"
                  r"|multiple (?:From|Date|Subject|Message-ID) headers", MESSAGE_MALFORMED,
         "Gmail: message not RFC 5322 compliant",
         "Gmail refuses messages that break the format rules, such as a missing Message-ID or a "
         "header that appears twice."),
    _sig("Gmail", r"has a policy that prohibited the mail that you sent", POLICY_REJECTED,
         "Gmail: recipient's policy forbids it",
         "The receiving Google Workspace domain (or yours) has a rule that forbids this "
         "message, set by its administrator."),
    _sig("Gmail", r"Daily (?:user )?sending quota exceeded|Daily SMTP relay limit exceeded",
         RATE_LIMITED, "Google: daily sending limit",
         "Your Google account or Workspace relay has reached its daily sending limit; it resets "
         "within 24 hours."),
    _sig("Gmail", r"Invalid credentials for relay", RELAY_DENIED, "Google relay: not allowed",
         "The Google Workspace SMTP relay does not recognise your server's IP address or "
         "login for the domain you send from.", side="you"),
    _sig("Gmail", r"returned Null MX|doesn'?t receive email according to the administrator"
                  r"|\bNull MX\b", DOMAIN_ACCEPTS_NO_MAIL, "null MX: domain takes no mail",
         "The recipient's domain publishes a null MX record: its owner says it receives no mail "
         "at all. Gmail failed the message at once instead of retrying."),
    _sig("Gmail", r"DNS type '?(?:mx|a|aaaa)'? lookup of \S+ responded with code NXDOMAIN"
                  r"|Domain name not found:", HOST_UNKNOWN, "Gmail: domain does not exist",
         "Gmail looked up the recipient's domain and DNS says it does not exist."),
    _sig("Gmail", r"DNS type '?(?:mx|a|aaaa)'? lookup of \S+ responded with code (?:SERVFAIL|REFUSED)",
         HOST_UNKNOWN, "Gmail: the domain's DNS fails",
         "The name servers of the recipient's domain do not answer properly (SERVFAIL), so no "
         "mail server can be found for it."),
    _sig("Gmail", r"recipient server did not accept our requests to connect", NETWORK_ERROR,
         "Gmail: could not connect to receiver",
         "Google could not connect to any of the recipient's mail servers: they refused or did "
         "not answer."),
    _sig("Gmail", r"\b4\.7\.0\b", RATE_LIMITED, "Gmail: deferred (rate/reputation)",
         "Gmail deferred the message because of the volume or reputation of mail from your IP.",
         classes="4", strength=2, needs=("Gmail",)),
]

_MICROSOFT = [
    _sig("Outlook", r"\bA?S31\d\d\b|part of their network is on our block list", BLOCKED_IP,
         "Outlook block list (S3140/S3150)",
         "Microsoft (Outlook.com, Hotmail, Microsoft 365) has your IP address or its network on "
         "its own block list. Public blocklist checks cannot see this list; ask Microsoft to "
         "delist the IP through its sender support pages (sender.office.com)."),
    _sig("Outlook", r"\b5\.7\.6[0-4]\d\b|banned sending IP", BLOCKED_IP,
         "Microsoft banned-IP list (5.7.606-649)",
         "Microsoft 365 refuses your IP address: it is on Microsoft's list of banned senders. "
         "The delisting form is at sender.office.com."),
    _sig("Outlook", r"\b4\.7\.650\b|rate limited due to IP reputation", RATE_LIMITED,
         "Microsoft rate limit (IP reputation)",
         "Microsoft is slowing down mail from your IP address because its reputation is still "
         "low (typical for a new or rarely used IP)."),
    _sig("Outlook", r"\b4\.7\.5\d\d\b.{0,60}(?:Server busy|Access denied)"
                    r"|Server busy\. Please try again later",
         RATE_LIMITED, "Microsoft: temporarily throttled",
         "Microsoft is temporarily throttling mail from your IP address; the queue's retries "
         "usually get through.", classes="4"),
    _sig("Outlook", r"\b5\.7\.708\b|traffic not accepted from this IP", BLOCKED_IP,
         "Microsoft refuses this IP",
         "Microsoft 365 does not accept mail from this IP address (often a cloud or low-reputation "
         "range)."),
    _sig("Outlook", r"\b5\.7\.509\b|does not pass DMARC|\b5\.7\.515\b"
                    r"|doesn'?t meet the required authentication level", AUTH_FAILED,
         "Microsoft: authentication failed",
         "Microsoft rejected the message because your domain's SPF, DKIM or DMARC checks failed."),
    _sig("Outlook", r"AS\(201806281\)|\b5\.4\.1\b.{0,160}Recipient address rejected: Access denied"
                    r"|Recipient address rejected: Access denied.{0,120}protection\.outlook\.com",
         USER_UNKNOWN, "Microsoft 365: recipient not found",
         "The receiving Microsoft 365 tenant checks every recipient against its directory at the "
         "door (directory-based edge blocking): 'Access denied' with 5.4.1 means the address "
         "does not exist there."),
    _sig("Outlook", r"\b5\.4\.1\b.{0,40}Relay Access Denied|ATTR3[5-6]", RELAY_DENIED,
         "Microsoft 365: relay access denied",
         "The Microsoft 365 tenant that received the message is not set up to accept mail for "
         "this domain (it is not an accepted domain there, or its connector is missing)."),
    _sig("Exchange", r"RecipNotFound|RecipientNotFound|Recipient not found by SMTP address lookup"
                     r"|RESOLVER\.ADR\.(?:ExRecipNotFound|RecipLimit)",
         USER_UNKNOWN, "Exchange: recipient not found",
         "Exchange looked the address up in its directory and found no such recipient."),
    _sig("Exchange", r"e-?mail address (?:you entered )?couldn'?t be found|recipient'?s e-?mail address "
                     r"was not found in the recipient'?s e-?mail system|wasn'?t found at \S+\.",
         USER_UNKNOWN, "Exchange: address not found",
         "Exchange's own words for an address that does not exist in the recipient's "
         "organisation."),
    _sig("Outlook", r"\b5\.5\.0 Requested action not taken: mailbox unavailable", USER_UNKNOWN,
         "Outlook: mailbox unavailable",
         "Outlook.com answers this way for an address that has no mailbox (or a blocked one)."),
    _sig("Exchange", r"QuotaExceeded|STOREDRV\.Deliver\.Exception:Quota",
         MAILBOX_FULL, "Exchange: mailbox full",
         "The recipient's mailbox is over its storage quota."),
    _sig("Exchange", r"QUEUE\.Expired|\b[45]\.4\.(?:316|300|312)\b|message expired|"
                     r"message (?:could not be delivered|delivery) .{0,40}expired", EXPIRED,
         "Exchange: message expired in the queue",
         "The sending Exchange server kept retrying until the message's time in the queue ran out."),
    _sig("Exchange", r"SMTPSEND\.DNS\.NonExistentDomain|nonexistent domain", HOST_UNKNOWN,
         "Exchange: domain does not exist",
         "The recipient's domain does not exist in DNS, so there is nowhere to deliver to."),
    _sig("Exchange", r"SMTPSEND\.DNS\.MxLoopback|routing loop detected|hop count exceeded", RECEIVER_ERROR,
         "Exchange: mail loop",
         "The message went round in a loop between mail servers (a forwarding rule or a "
         "misrouted domain) until a server stopped it."),
    _sig("Exchange", r"\b5\.4\.(?:6|14)\b", RECEIVER_ERROR, "Exchange: mail loop",
         "The message went round in a loop between mail servers (a forwarding rule or a "
         "misrouted domain) until a server stopped it.", needs=("Exchange", "Outlook")),
    _sig("Exchange", r"\b5\.7\.54\b|unable to relay recipient in non-accepted domain", RELAY_DENIED,
         "Exchange: domain not accepted (relay)",
         "The server that received the message does not accept mail for this domain and will not "
         "relay it onwards."),
    _sig("Exchange", r"\b5\.7\.57\b|not authenticated to send anonymous mail", RELAY_DENIED,
         "Exchange: log in before sending",
         "The server only relays for logged-in users, and your mail program did not log in.",
         side="you"),
    _sig("Exchange", r"RESOLVER\.RST\.(?:NotAuthorized|AuthRequired|SenderNotAuthenticated\w*)"
                     r"|delivery to this address is restricted|\b5\.7\.1(?:2[4-9]|3[0-4])\b"
                     r"|not in the allowed senders? list|isn'?t allowed to send (?:messages )?to",
         POLICY_REJECTED, "Exchange: delivery restricted",
         "The recipient (often a distribution list or a shared mailbox) only accepts mail from "
         "certain senders, or only from inside its organisation."),
    _sig("Exchange", r"RESOLVER\.RST\.RecipSizeLimit|RecipSizeLimit|\b5\.3\.4\b.{0,60}size"
                     r"|exceeds? (?:the )?fixed maximum message size", MESSAGE_TOO_BIG,
         "Exchange: message too big",
         "The message is larger than the recipient's organisation accepts."),
    _sig("Outlook", r"\b5\.7\.50[1-3]\b|spam abuse detected|banned from sending|bad outbound sender"
                    r"|\b5\.1\.8\b.{0,40}Access denied", SENDER_REJECTED,
         "Microsoft 365: your account may not send",
         "Microsoft has stopped your account or tenant from sending, usually because it sent "
         "spam (a compromised password is the common cause).", side="you"),
    _sig("Outlook", r"\b5\.7\.750\b|sending from unregistered domains", SENDER_REJECTED,
         "Microsoft 365: unregistered sender domain",
         "Microsoft refuses mail from your tenant for a domain it has not verified as yours.",
         side="you"),
    _sig("Outlook", r"\b5\.7\.520\b|does not allow external forwarding", POLICY_REJECTED,
         "Microsoft 365: forwarding forbidden",
         "A forwarding rule tried to send this message outside the organisation, and the "
         "organisation's policy forbids automatic external forwarding.", side="you"),
    _sig("Outlook", r"\b5\.2\.12[12]\b|per hour message receive limit", RATE_LIMITED,
         "Microsoft: recipient's hourly limit",
         "The recipient's mailbox has received more messages this hour than Microsoft allows; it "
         "is about the recipient, not your server.", side="them"),
    _sig("Outlook", r"\b5\.1\.90\b|daily limit for message recipients|\b5\.2\.0\b.{0,40}RecipientRateLimit",
         RATE_LIMITED, "Microsoft: your daily limit",
         "Your Microsoft account has sent to more recipients today than it is allowed.", side="you"),
    _sig("Outlook", r"\b5\.7\.512\b|must be RFC 5322 section 3\.6\.2 compliant"
                    r"|BareLinefeedsAreIllegal|\b5\.6\.11\b", MESSAGE_MALFORMED,
         "Microsoft: message not RFC compliant",
         "Microsoft refuses the message because its headers (From, Date) or line endings break "
         "the mail format rules."),
    _sig("Outlook", r"\b(?:SC|DY)-00[1-5]\b|does not relay dynamically-assigned IP|"
                    r"do not accept email from dynamic IP", BLOCKED_IP,
         "Outlook.com: IP refused (SC/DY codes)",
         "Outlook.com refuses your IP address: it is on Microsoft's own list or in a range for "
         "home or dynamic connections."),
    _sig("Outlook", r"\bOU-00[1-2]\b|rejected by (?:Windows Live )?Hotmail for policy reasons"
                    r"|rejected by Outlook\.com for policy reasons", BLOCKED_IP,
         "Outlook.com: refused for policy reasons",
         "Outlook.com refused the mail because of your IP's or domain's reputation, or content "
         "that looks like spam."),
    _sig("Outlook", r"\bRP-00[1-3]\b|exceeded the rate limit|has exceeded the connection limit",
         RATE_LIMITED, "Outlook.com: rate limit (RP codes)",
         "Outlook.com limits how fast one IP address may send; yours went over it."),
]

_YAHOO = [
    _sig("Yahoo", r"\bTSS09\b|permanently deferred", BLOCKED_IP, "Yahoo: IP permanently deferred",
         "Yahoo has stopped accepting mail from your IP address; retrying will not help until its "
         "reputation is repaired."),
    _sig("Yahoo", r"\bTSS?0[1-4]\b|\bGL01\b|temporarily deferred due to unexpected volume or user complaints"
                  r"|\bIPTS0\d\b|\bDYN:T\d\b|\bTS\d\d\b",
         RATE_LIMITED, "Yahoo: deferred (volume or complaints)",
         "Yahoo is holding back mail from your IP address because of unusual volume or complaints."),
    _sig("Yahoo", r"\bBL2[0-3]\b|ip is in Spamhaus'?s? list", BLOCKED_IP,
         "Yahoo: IP on a Spamhaus list",
         "Yahoo refuses the connection because your IP address is listed by Spamhaus."),
    _sig("Yahoo", r"\bRTR:BL\b|\bRLY:B[1-3D]\b|\bHVU:B\d\b|\bCON:B\d\b|AOL will not accept delivery",
         BLOCKED_IP, "AOL: IP blocked",
         "AOL (Yahoo) refuses mail from your IP address because of its reputation or complaints."),
    _sig("Yahoo", r"\bDNS:NR\b", RDNS_OR_HELO, "AOL: no reverse DNS",
         "AOL refuses connections from IP addresses without reverse DNS."),
    _sig("Yahoo", r"\b5\.7\.9\b", AUTH_FAILED, "Yahoo: needs SPF or DKIM",
         "Yahoo rejected the message for policy reasons; for most senders this means it was not "
         "authenticated with SPF or DKIM (or DMARC failed).", needs=("Yahoo",)),
    _sig("Yahoo", r"\b5\.7\.9 Message not accepted for policy reasons", AUTH_FAILED,
         "Yahoo: needs SPF or DKIM",
         "Yahoo rejected the message for policy reasons; for most senders this means it was not "
         "authenticated with SPF or DKIM (or DMARC failed)."),
    _sig("Yahoo", r"doesn'?t have an? \S+ account|\bdd Requested mail action aborted"
                  r"|\b552 1 Requested mail action aborted, mailbox not found", USER_UNKNOWN,
         "Yahoo: no such account", "Yahoo has no account by that name."),
    _sig("Yahoo", r"\bdd\b.{0,80}mailbox is disabled|\b554\.30\b|This mailbox is disabled",
         MAILBOX_DISABLED, "Yahoo: mailbox disabled",
         "The Yahoo account exists but is disabled (usually after a long time unused)."),
    _sig("Yahoo", r"\[PH01\]|phishing", SPAM_CONTENT, "Yahoo: looks like phishing",
         "Yahoo's filters judged the message to be phishing."),
]

_OTHER_PROVIDERS = [
    _sig("iCloud", r"\[CS0\d\]", SPAM_CONTENT, "iCloud: refused by local policy",
         "iCloud Mail's filters refused the message: its content, or the reputation of the "
         "sender and its links, looked like spam. Apple's postmaster pages explain each code."),
    _sig("iCloud", r"\[HM0\d\]", SPAM_CONTENT, "iCloud: refused by local policy",
         "iCloud Mail refused the message under its local policy (content or sender reputation); "
         "the words after the code say more.", strength=1.5),
    _sig("iCloud", r"unknown or illegal alias", USER_UNKNOWN, "iCloud: no such address",
         "iCloud Mail has no address or alias by that name."),
    _sig("iCloud", r"From address is not one of your addresses", SENDER_REJECTED,
         "iCloud: From address not yours",
         "iCloud's outgoing server only sends mail whose From address belongs to the account "
         "that logged in.", side="you"),
    _sig("Zoho", r"Unusual sending activity detected|Email Outgoing Blocked", RATE_LIMITED,
         "Zoho: unusual sending activity",
         "Zoho has blocked sending from your account for now after unusual activity.", side="you"),
    _sig("Zoho", r"Email policy violation detected|Mail rejected by (?:the )?recipient'?s? policy",
         POLICY_REJECTED, "Zoho: policy violation",
         "The receiving Zoho organisation's policy does not allow this message."),
    _sig("Zoho", r"classified as SPAM", SPAM_CONTENT, "Zoho: classified as spam",
         "Zoho's filters classified the message as spam."),
    _sig("Amazon SES", r"suppress(?:ed|ion list)", USER_UNKNOWN, "Amazon SES: address suppressed",
         "Amazon SES did not even try: this address bounced as unknown (or complained) before, "
         "so it is on the suppression list.", needs=("Amazon SES",)),
    _sig("Amazon SES", r"Email address is not verified|identities failed the check",
         SENDER_REJECTED, "Amazon SES: sender not verified",
         "Amazon SES sends only from addresses or domains you have verified in the account.",
         side="you"),
    _sig("Mimecast", r"Invalid Recipient.{0,80}mimecast|mimecast.{0,200}Invalid Recipient",
         USER_UNKNOWN, "Mimecast: invalid recipient",
         "The Mimecast gateway in front of the recipient's organisation knows no such address."),
    _sig("Mimecast", r"envelope blocked|Blocked Senders?|Envelope rejected", SENDER_REJECTED,
         "Mimecast: sender blocked by policy",
         "The recipient's organisation has put your address or domain on its blocked-senders "
         "list in Mimecast."),
    _sig("Mimecast", r"Anti-?Spoofing policy", POLICY_REJECTED, "Mimecast: anti-spoofing policy",
         "Mimecast refused a message from outside that claims to come from the recipient's own "
         "domain (its anti-spoofing policy)."),
    _sig("Mimecast", r"(?:Global|IP) Reputation|Local CIDR Ban|mimecast.{0,80}Reputation",
         BLOCKED_IP, "Mimecast: IP reputation",
         "Mimecast refuses your IP address because of its reputation."),
    _sig("Proofpoint", r"ipcheck\.proofpoint\.com|dnsbl-lookup|proofpoint.{0,80}(?:Blocked|reputation)",
         BLOCKED_IP, "Proofpoint: IP blocked",
         "Proofpoint (used by many companies and by iCloud) refuses your IP address because of "
         "its reputation; its lookup page explains how to ask for removal."),
    _sig("Proofpoint", r"marked as invalid", USER_UNKNOWN, "Proofpoint: address invalid",
         "The Proofpoint gateway knows this address as invalid."),
    _sig("Barracuda", r"barracuda ?reputation|b\.barracudacentral\.org|barracudacentral"
                      r"|barracudanetworks\.com/reputation", BLOCKED_IP,
         "IP listed by Barracuda",
         "Your IP address has a poor score in the Barracuda Reputation list; a removal request "
         "can be filed at barracudacentral.org."),
    _sig("Barracuda", r"\(\S+@\S+:blocked\)|Message content rejected|content restrictions",
         SPAM_CONTENT, "Barracuda: content blocked",
         "The Barracuda filter in front of the recipient blocked the message for its content."),
    _sig("Trend Micro", r"Trend ?Micro.{0,80}(?:Reputation|RBL|ERS)|ers\.trendmicro|mail-abuse\.com",
         BLOCKED_IP, "Trend Micro: IP reputation",
         "Trend Micro's Email Reputation Services list your IP address; the receiver consults it."),
    _sig("Domino", r"not listed in (?:the )?(?:Domino Directory|public Name (?:&|and) Address Book)",
         USER_UNKNOWN, "Domino: not in the directory",
         "The Domino server looked the recipient up in its directory and found no such person."),
    _sig("Domino", r"mail file .{0,60}(?:does not exist|not found)|File does not exist",
         USER_UNKNOWN, "Domino: no mail file",
         "Domino knows no mail file for this recipient: the mailbox has been removed."),
    _sig("Domino", r"No route found to domain", HOST_UNKNOWN, "Domino: no route to the domain",
         "The Domino server found no way to reach the recipient's domain (no MX, no connection "
         "document)."),
    _sig("Domino", r"Maximum hop count exceeded|probably in a routing loop", RECEIVER_ERROR,
         "Domino: routing loop", "The message went round in a loop between servers until the hop "
         "count ran out."),
    _sig("Domino", r"Insufficient (?:system resources|disk space)", RECEIVER_ERROR,
         "Domino: server out of resources", "The Domino server ran out of disk or memory."),
    _sig("Domino", r"mail file .{0,40}(?:exceeded|over|exceeds) (?:its )?quota"
                   r"|exceeds? (?:its|the) mail file quota",
         MAILBOX_FULL, "Domino: mail file over quota",
         "The recipient's Domino mail file is over its quota."),
]

_BLOCKLISTS = [
    _sig(None, r"\bdbl\.spamhaus\.org\b|spamhaus\s+dbl|listed in the DBL|\buribl\b|\bsurbl\b"
               r"|black-?listed URL|block-?listed (?:URL|domain|link)|URL in (?:this|the) message"
               r"|(?:URI|URL|link|domain)s? in (?:this |the )?message (?:is|are) (?:black|block)?listed"
               r"|listed URI|contains? (?:a |an )?(?:black|block)?listed (?:URL|URI|domain|link)",
         SPAM_CONTENT, "link or domain on a URI blocklist",
         "A domain named in your message (a link, the sender or a signature) is on a URI "
         "blocklist such as Spamhaus DBL, SURBL or URIBL: the message is judged by its content, "
         "not by your IP address."),
    _sig("Spamhaus", r"spamhaus", BLOCKED_IP, "IP listed by Spamhaus",
         "Your IP address is on a Spamhaus list (SBL, XBL/CSS, or the PBL of dynamic and end-user "
         "ranges). Look the IP up at check.spamhaus.org: it says which list and how to get off it; "
         "for the PBL the answer is to send through your provider's relay."),
    _sig("SpamCop", r"spamcop", BLOCKED_IP, "IP listed by SpamCop",
         "Your IP address is on the SpamCop blocklist, which lists IPs that recently sent mail "
         "reported as spam. The entry expires by itself about a day after the reports stop."),
    _sig("UCEPROTECT", r"uceprotect", BLOCKED_IP, "IP listed by UCEPROTECT",
         "Your IP address (or its network) is on the UCEPROTECT blocklist."),
    _sig("PSBL", r"psbl\.surriel\.com|\bpsbl\b", BLOCKED_IP, "IP listed by PSBL",
         "Your IP address is on the Passive Spam Block List."),
    _sig("SORBS", r"\bsorbs\b", BLOCKED_IP, "IP listed by SORBS (closed)",
         "The receiver still consults SORBS, a blocklist that closed in 2024."),
    _sig(None, r"Client host blocked for spamming|bloqu[ée]e? pour (?:cause de |des probl[èe]mes de )?spam",
         BLOCKED_IP, "ISP: IP blocked for spam",
         "The receiving ISP blocks your server's IP address because spam was seen from it."),
]

_MTAS = [
    _sig("Postfix", r"Relay access denied", RELAY_DENIED, "relay access denied",
         "The receiving server does not accept mail for this domain from you: either it is not "
         "the domain's mail server, or it does not list the domain as its own."),
    _sig("Postfix", r"User unknown in (?:virtual|local|relay) (?:mailbox|recipient|alias) table",
         USER_UNKNOWN, "Postfix: user unknown",
         "The receiving Postfix server has no mailbox by that name."),
    _sig("Postfix", r"Helo command rejected", RDNS_OR_HELO, "Postfix: HELO name rejected",
         "Your server introduced itself with a HELO/EHLO name the receiver does not accept (not a "
         "full host name, or one that does not resolve)."),
    _sig("Postfix", r"cannot find your (?:reverse )?hostname", RDNS_OR_HELO,
         "Postfix: no reverse DNS for your IP",
         "The receiver looked up the PTR record of your IP address and found none, or found a "
         "name that does not point back to the address."),
    _sig("Postfix", r"Sender address rejected: Domain not found|Domain of sender address \S* does not exist"
                    r"|sender domain (?:does not exist|not found|must (?:exist|resolve))",
         SENDER_REJECTED, "your sender domain does not resolve",
         "The receiver could not find your sender address's domain in DNS, so replies could not "
         "reach it."),
    _sig("Postfix", r"Sender address rejected", SENDER_REJECTED, "Postfix: sender address rejected",
         "The receiving server refused the envelope sender address (it failed verification, is "
         "not fully qualified, or is on its refusal list).", strength=2),
    _sig("Postfix", r"Recipient address rejected: Domain not found", HOST_UNKNOWN,
         "recipient domain not found", "The recipient's domain does not exist in DNS."),
    _sig("Postfix", r"Client host rejected: Access denied", BLOCKED_IP, "Postfix: client host refused",
         "The receiver has a local rule that refuses your IP address."),
    _sig("Postfix", r"Recipient address rejected: Access denied", POLICY_REJECTED,
         "Postfix: recipient refused by a rule",
         "The receiving server has a local rule that refuses mail to this recipient (from you, "
         "or from outside).", strength=2),
    _sig("Postfix", r"TLS is required, but (?:was not offered|our TLS engine is unavailable)"
                    r"|Cannot start TLS", TLS_REQUIRED, "TLS required but unavailable",
         "The sending server insists on TLS for this destination, and TLS could not be used."),
    _sig(None, r"Name service error for name=\S+ type=\S+: Host not found, try again"
               r"|Host not found, try again|Name server timeout|host lookup did not complete"
               r"|\bSERVFAIL\b|(?<!reverse )DNS (?:lookup|query) (?:failed|timed? ?out)", NETWORK_ERROR,
         "temporary DNS failure",
         "Looking up the recipient's mail server in DNS failed for the moment (a time-out or a "
         "server failure), which is a network or DNS problem, not proof the domain is gone."),
    _sig(None, r"Host or domain name not found(?![^\n]{0,120}try again)|Host unknown \(Name server"
               r"|host not found(?!, try again)", HOST_UNKNOWN,
         "domain has no mail server in DNS",
         "DNS has no usable MX or address record for the recipient's domain."),
    _sig("Postfix", r"loops back to myself|mail loops back to me", RECEIVER_ERROR,
         "mail loops back to the sender",
         "The recipient domain's MX record points back at the server that tried to deliver, "
         "which is not set up to receive for that domain: a DNS or configuration mistake."),
    _sig("Postfix", r"conversation with \S+ timed out|lost connection with \S+ while"
                    r"|connect to \S+: (?:Connection (?:refused|timed out|reset)|No route to host"
                    r"|Network is unreachable)", NETWORK_ERROR, "Postfix: connection failed",
         "The sending Postfix server could not connect to, or lost the connection with, the "
         "recipient's mail server."),
    _sig("Postfix", r"message size \d+ exceeds size limit|Message size exceeds fixed limit",
         MESSAGE_TOO_BIG, "Postfix: message too big",
         "The message is larger than the receiving Postfix server's size limit."),
    _sig(None, r"Insufficient system storage|\b4\.3\.1\b", RECEIVER_ERROR,
         "receiver out of disk space",
         "The receiving server is short of disk space for its queue; it asks for a retry later."),
    _sig("Exim", r"Unrouteable address|all relevant MX records point to non-existent hosts"
                 r"|domain has no mail exchangers", HOST_UNKNOWN, "Exim: unroutable address",
         "The sending server found no way to reach the recipient's domain: DNS names no usable "
         "mail server for it."),
    _sig("Exim", r"retry timeout exceeded", EXPIRED, "Exim: retry time exceeded",
         "The sending Exim server kept trying for the whole retry period and has given up."),
    _sig("Exim", r"all hosts (?:for '?\S+'? )?have been failing for a long time"
                 r"|retry time not reached for any host after a long failure period",
         NETWORK_ERROR, "Exim: hosts failing for a long time",
         "None of the recipient's mail servers has been reachable for longer than Exim's retry "
         "limit, so Exim failed this message at once without trying again: the servers are "
         "down or unreachable from your network. It is not a queue that expired after days."),
    _sig("Exim", r"\brelay(?:ing)? not permitted\b", RELAY_DENIED, "Exim: relay not permitted",
         "The receiving server does not handle mail for this domain and will not relay it."),
    _sig(None, r"Sender verify failed|sender verification failed|could not verify sender",
         SENDER_REJECTED, "sender verification failed",
         "The receiver tried to verify your sender address (by calling back its mail server) "
         "and the check failed: the address must exist and accept bounces."),
    _sig(None, r"message has lines too long for transport|lines? too long", MESSAGE_MALFORMED,
         "lines too long",
         "The message has lines longer than the mail format allows (998 characters); the "
         "program that built it must wrap or encode them."),
    _sig(None, r"Too many \"?Received\"? headers|suspected mail loop|mail loop", RECEIVER_ERROR,
         "mail loop", "The message passed through too many servers (a forwarding loop)."),
    _sig("Exim", r"No Such User Here", USER_UNKNOWN, "cPanel/Exim: no such user",
         "The receiving server has no mailbox by that name."),
    _sig(None, r"Administrative prohibition", POLICY_REJECTED, "administrative prohibition",
         "A rule set by the receiver's administrator refuses this message or sender.",
         strength=2),
    _sig("Sendmail", r"Cannot send message (?:within|for) \d+ (?:days?|hours?)"
                     r"|could not be delivered for \d+ (?:days?|hours?)"
                     r"|Message will be deleted from queue", EXPIRED,
         "Sendmail: gave up after days of retries",
         "The sending Sendmail server could not deliver within its queue lifetime."),
    _sig(None, r"Mailbox disabled for this recipient|mailbox (?:is )?disabled", MAILBOX_DISABLED,
         "mailbox disabled", "The mailbox exists but has been disabled.", strength=2),
    _sig("Sendmail", r"Deferred: Connection (?:refused|timed out|reset) by", NETWORK_ERROR,
         "Sendmail: connection failed",
         "The sending Sendmail server could not connect to the recipient's mail server."),
    _sig("qmail", r"no mailbox here by that name", USER_UNKNOWN, "qmail: no such mailbox",
         "The receiving qmail server has no mailbox by that name."),
    _sig("qmail", r"couldn'?t find any host (?:named|by that name)|couldn'?t find a mail exchanger",
         HOST_UNKNOWN, "qmail: no such host",
         "DNS has no mail server or address for the recipient's domain."),
    _sig("qmail", r"in the queue too long|I'?m not going to try again", EXPIRED,
         "qmail: message too long in queue", "The sending qmail server retried until it gave up."),
    _sig("qmail", r"wasn'?t able to establish an SMTP connection|but connection died|CNAME lookup failed",
         NETWORK_ERROR, "qmail: could not connect",
         "The sending server could not open (or keep) a connection to any of the recipient's "
         "mail servers."),
    _sig("qmail", r"isn'?t in my list of allowed rcpthosts", RELAY_DENIED, "qmail: not in rcpthosts",
         "The receiving qmail server does not accept mail for this domain."),
    _sig("qmail", r"isn'?t in my control/locals file", RELAY_DENIED,
         "qmail: MX here but domain not local",
         "DNS says this server receives the domain's mail, but the server is not set up for it.",
         side="them"),
    _sig("qmail", r"but sender was rejected", SENDER_REJECTED, "qmail: sender rejected",
         "The receiving server refused your sender address."),
    _sig("qmail", r"but my name was rejected", RDNS_OR_HELO, "qmail: HELO name rejected",
         "The receiving server refused the name the sending server gave in HELO."),
    _sig("qmail", r"over the allowed quota|mailfolder is over", MAILBOX_FULL, "qmail: over quota",
         "The recipient's mailbox is over its quota."),
    _sig("qmail", r"address no longer accepts mail", MAILBOX_DISABLED, "qmail: address closed",
         "The mailbox has been closed and takes no more mail."),
    _sig("qmail", r"Unable to chdir to maildir|unable to open mailbox", RECEIVER_ERROR,
         "qmail: cannot open the mailbox",
         "The receiving server could not open the recipient's mailbox on its own disk."),
    _sig("GroupWise", r"\(user not found\)|\(Undeliverable\)", USER_UNKNOWN,
         "GroupWise: user not found", "GroupWise found no such user.", strength=2),
    _sig("IMail", r"Unknown user:", USER_UNKNOWN, "IMail: unknown user",
         "The receiving server has no mailbox by that name."),
    _sig("IMail", r"mailbox exceeds (?:the )?allowed size", MAILBOX_FULL, "IMail: mailbox over its size",
         "The recipient's mailbox has reached the size its server allows."),
    _sig("Exim", r"an MX or SRV record indicated no SMTP service", DOMAIN_ACCEPTS_NO_MAIL,
         "Exim: null MX", "The recipient's domain publishes a null MX record: it receives no mail."),
    _sig(None, r"(?:is|was) not a valid (?:user|mailbox)|Unknown user\b", USER_UNKNOWN,
         "no such user", "The receiving server has no mailbox by that name.", strength=2),
    _sig(None, r"\bmailbox (?:is )?over quota\b|Quota exceeded", MAILBOX_FULL,
         "mailbox over quota", "The recipient's mailbox is over its quota.", strength=2),
]

#: Provider- and MTA-specific signatures, tried before the generic ones.
PROVIDER_SIGNATURES: tuple[Signature, ...] = (*_GMAIL, *_MICROSOFT, *_YAHOO, *_OTHER_PROVIDERS,
                                               *_BLOCKLISTS, *_MTAS)


def _gen(pattern: str, bounce_class: str, topic: str, explanation: str, strength: float = 2,
         classes: str = "", side: str | None = None) -> Signature:
    return _sig(None, pattern, bounce_class, topic, explanation, side, classes, strength)


#: Generic phrasing any MTA may use, from the most to the least specific.
_GENERIC: tuple[Signature, ...] = (
    _gen(r"\bexpired\b|queue lifetime|too long in (?:the )?queue|could not be delivered within"
         r"|delivery time (?:expired|exceeded)|maximum (?:queue )?time|giving up after \d+"
         r"|\bstatus=expired\b|gave up after \d+ (?:days?|hours?)", EXPIRED,
         "gave up: time in queue expired",
         "The sending server retried for as long as it is allowed to and then gave up."),
    _gen(r"gr[ae]y-?list", GREYLISTED, "greylisted: try again later",
         "The receiver greylists: it turns away the first attempt from an unknown sender and "
         "accepts the retry a few minutes later."),
    _gen(r"must issue a STARTTLS command first|STARTTLS (?:is )?required|TLS (?:is )?required"
         r"|requires? (?:TLS|encryption)|encryption (?:is )?(?:required|needed)|REQUIRETLS"
         r"|TLS handshake failed|certificate verification failed|TLS negotiation failed",
         TLS_REQUIRED, "TLS required", "One side insists on an encrypted connection that was not "
         "set up."),
    _gen(r"\bSPF\b|sender policy framework", AUTH_FAILED, "SPF check failed",
         "The receiver checked the sender domain's SPF record and your IP address is not allowed by it."),
    _gen(r"\bDKIM\b|\bDMARC\b|unauthenticated (?:e-?mail|mail|sender)", AUTH_FAILED,
         "DKIM/DMARC check failed",
         "The message failed the receiver's DKIM or DMARC checks for your domain."),
    _gen(r"reverse DNS|\brDNS\b|PTR record|reverse (?:lookup|hostname)|no hostname for"
         r"|\b(?:helo|ehlo)\b(?! ?=)(?!\s+[\w.-]+\))|fully.qualified (?:host|domain)|DNS inverse"
         r"|invalid (?:hostname|host name)", RDNS_OR_HELO,
         "reverse DNS or HELO rejected",
         "The receiver checks who your server says it is: the PTR record of its IP address and "
         "the name it gives in HELO/EHLO. One of them failed."),
    _gen(r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited|disallowed|refused)"
         r"|not (?:permitted|allowed|authori[sz]ed|configured) to relay|unable to relay|we do not relay"
         r"|\bno relaying\b|does not accept mail for|not an accepted domain|relaying to <?\S+ denied"
         r"|relay (?:not permitted|denied)|not a local domain|relais (?:interdit|refus[ée]|non autoris[ée])"
         r"|Relaying (?:nicht erlaubt|verweigert)|relay (?:no permitido|denegado)", RELAY_DENIED,
         "relaying denied",
         "The server does not accept mail for this domain and will not pass it on."),
    _gen(r"null MX|does not accept mail\b|accepts no mail|domain does not receive mail",
         DOMAIN_ACCEPTS_NO_MAIL,
         "domain accepts no mail",
         "The recipient's domain says it does not receive mail at all."),
    _gen(r"host (?:not found|unknown)|unknown host|domain (?:\S+ )?(?:not found|does not exist"
         r"|doesn'?t exist)|no such domain|\bNXDOMAIN\b|unrout(?:e)?able|no MX|"
         r"non-?existent (?:domain|host)|could not resolve|unknown domain|domain (?:is )?unknown"
         r"|domaine (?:inconnu|inexistant)|Domain (?:existiert nicht|nicht gefunden)|unbekannte Domain"
         r"|dominio (?:no existe|desconocido|inexistente)"
         r"|(?:ドメイン|ホスト).{0,10}(?:存在しません|見つかりません|不明)",
         HOST_UNKNOWN, "recipient domain cannot receive mail",
         "The recipient's domain does not exist, or publishes no mail server that can be used."),
    _gen(r"insufficient system (?:storage|resources)|system (?:is )?full|disk (?:is )?full|no space left"
         r"|out of disk|internal (?:server )?error|local error in processing|system (?:error|failure)"
         r"|temporary (?:local )?problem|mail system (?:error|problem|full)|configuration error"
         r"|misconfigur|routing loop|hop count|too many hops|mailbox (?:is )?(?:busy|locked)"
         r"|temporary failure|server error|mailbox store|database error|unable to (?:deliver to|open)"
         r" (?:the )?(?:mailbox|mail file|maildir)",
         RECEIVER_ERROR, "receiver's internal error",
         "The receiving server reported a problem of its own."),
    _gen(r"(?:account|mailbox|user|address|recipient)(?: \S+)? (?:is |has been |was )?"
         r"(?:disabled|suspended|inactive|deactivated|locked|closed|frozen|blocked by the administrator)"
         r"|(?:account|mailbox|user|address) (?:is )?(?:no longer|not) (?:active|in use|available)"
         r"|no longer accepts mail|inactive (?:account|mailbox|user)"
         r"|compte (?:d[ée]sactiv[ée]|suspendu|inactif)|(?:Postfach|Konto) (?:ist )?(?:deaktiviert|gesperrt)"
         r"|cuenta (?:desactivada|suspendida|inactiva|deshabilitada)|(?:停止|無効)(?:されて|に)",
         MAILBOX_DISABLED, "mailbox disabled",
         "The mailbox exists but is disabled and takes no mail."),
    _gen(r"user unknown|unknown user|no such user|unknown (?:recipient|local.part|address)"
         r"|recipient unknown|no such (?:recipient|mailbox|account|address)|invalid (?:recipient|mailbox)"
         r"|recipient not found|mailbox (?:not found|does not exist|doesn'?t exist|unavailable|not available)"
         r"|address (?:does not exist|doesn'?t exist|not found|unknown|rejected)"
         r"|user (?:does not exist|doesn'?t exist"
         r"|not found)|does not exist|addressee unknown|not a valid (?:user|recipient|mailbox)"
         r"|bad destination (?:mailbox )?address|no mailbox|invalid address|recipient (?:address )?"
         r"(?:invalid|rejected)|unknown or invalid|mailbox (?:name )?(?:invalid|not allowed)"
         r"|utilisateur inconnu|adresse (?:de destination )?inconnue|destinataire inconnu"
         r"|n'existe pas|compte inexistant|Benutzer (?:ist )?unbekannt|unbekannter (?:Benutzer|Empf[äa]nger)"
         r"|Empf[äa]nger (?:ist )?unbekannt|Empf[äa]nger existiert nicht|Postfach (?:existiert nicht"
         r"|nicht vorhanden|unbekannt)|Adresse existiert nicht|usuario (?:desconocido|inexistente|no existe)"
         r"|destinatario (?:desconocido|no existe|inexistente)"
         r"|(?:cuenta|direcci[óo]n)(?: de correo)? no existe"
         r"|buz[óo]n (?:no existe|inexistente)|宛先.{0,12}(?:存在しない|存在しません|見つかりません|不明)"
         r"|ユーザー?.{0,6}(?:存在しません|見つかりません|不明)|宛先不明|アドレスは存在しません",
         USER_UNKNOWN, "no such recipient",
         "The receiving server has no mailbox for this address."),
    _gen(r"mailbox (?:is )?full|over (?:the )?quota|quota exceeded|exceed(?:ed|s) (?:its |the |his |her )?"
         r"(?:storage|quota)|out of storage|mailbox size limit|storage allocation|mailbox is over"
         r"|boite (?:aux lettres )?(?:est )?pleine|bo[iî]te (?:aux lettres )?(?:est )?pleine"
         r"|quota (?:est )?(?:atteint|d[ée]pass[ée])|Postfach (?:ist )?(?:voll|[üu]berf[üu]llt)"
         r"|Speicherplatz (?:ist )?(?:ersch[öo]pft|[üu]berschritten)|Quota [üu]berschritten|Mailbox ist voll"
         r"|buz[óo]n (?:est[áa] )?lleno|cuota (?:excedida|superada)|(?:cuenta|bandeja|casilla).{0,20}llena"
         r"|(?:メールボックス|容量|メール ボックス).{0,10}(?:いっぱい|一杯|超過|満杯|オーバー)",
         MAILBOX_FULL, "mailbox full",
         "The recipient's mailbox has no room left."),
    _gen(r"message (?:is )?too (?:big|large)|size (?:limit|exceeds)|exceeds (?:the )?(?:fixed )?"
         r"(?:maximum|max) (?:message )?size|message length exceeds|too much mail data"
         r"|message file too big|message size exceeds|exceeds (?:the )?size|larger than (?:the )?"
         r"(?:maximum|allowed)|message (?:est )?trop (?:gros|volumineux)|Nachricht (?:ist )?zu gro(?:ß|ss)"
         r"|mensaje (?:es )?demasiado grande|excede el tama[ñn]o"
         r"|(?:メール|メッセージ)の?サイズ.{0,10}(?:超え|超過|大きすぎ)",
         MESSAGE_TOO_BIG, "message too big",
         "The message is larger than the receiver accepts."),
    _gen(r"rate.?limit|too many (?:connections|messages|recipients|concurrent|mails|errors|sessions)"
         r"|exceeded (?:the )?(?:rate|message limit|connection limit|sending limit)|throttl"
         r"|slow down|sending quota|connection limit|trop de (?:messages|connexions)"
         r"|zu viele (?:Verbindungen|Nachrichten)|送信数.{0,10}(?:制限|超過)",
         RATE_LIMITED, "rate limited",
         "You are sending more, or faster, than the receiver allows from your IP address."),
    _gen(r"virus|malware|infected|malicious|trojan|attachment (?:type )?(?:is )?(?:not allowed|blocked"
         r"|prohibited|forbidden|rejected)|banned (?:attachment|file)|dangerous (?:attachment|content)"
         r"|executable (?:attachment|file)|Virus (?:gefunden|erkannt)", VIRUS,
         "virus or dangerous attachment",
         "The receiver's scanner refused the message for what it carries."),
    _gen(r"malformed|not RFC ?(?:5322|2822|822)(?:[ -]compliant)?|RFC ?(?:5322|2822) (?:compliant|violation)"
         r"|header (?:is )?(?:missing|invalid|malformed)|missing (?:a )?(?:valid )?(?:Message-ID|Date|From)"
         r"|bare (?:LF|linefeeds?|line feeds?)|invalid (?:header|characters|MIME)|syntax error in (?:the )?"
         r"(?:message|headers?)|duplicate header|8-?bit (?:characters|data) not (?:allowed|permitted)"
         r"|improperly formatted|contains? (?:NUL|null) (?:characters|bytes)|line length exceeded",
         MESSAGE_MALFORMED, "message malformed",
         "The receiver refuses the message because it breaks the mail format rules."),
    _gen(r"sender (?:address )?(?:rejected|denied|refused|blocked|not allowed|invalid|unknown)"
         r"|(?:blocked|banned|blacklisted|denied) sender|sender (?:is )?(?:on|in) (?:the |a )?(?:block|black)"
         r"|from address (?:is )?(?:not allowed|invalid|rejected)|return.path (?:is )?(?:invalid|rejected)"
         r"|your (?:e-?mail )?address (?:has been|is) blocked|unverified sender|sender (?:domain|address)"
         r" (?:is )?(?:not |un)verified", SENDER_REJECTED,
         "sender address refused",
         "The receiver refused the envelope sender address."),
    _gen(r"blocked using|block ?list|black ?list|\bRBL\b|\bDNSBL\b|(?<!not )listed (?:at|on|in|by) "
         r"|(?:IP|address) (?:reputation|blocked|banned|block|is (?:listed|blocked|blacklisted))"
         r"|poor reputation|bad reputation|low reputation|dynamic (?:IP|address|range|pool)"
         r"|residential (?:IP|range)"
         r"|client host (?:\[\S+\] )?blocked|your IP|sending IP|\bIP (?:address )?\S* ?(?:is )?blocked"
         r"|liste noire|adresse IP (?:est )?bloqu|Sperrliste|Blockliste|schwarze Liste|lista negra"
         r"|IP.{0,40}(?:gesperrt|blockiert)|(?:IP|direcci[óo]n) .{0,30}bloquead[ao]",
         BLOCKED_IP, "IP blocked (blocklist or reputation)",
         "The receiver refuses your IP address because of a blocklist entry or poor reputation."),
    _gen(r"\bspam\b|unsolicited|\bjunk\b|content (?:rejected|filter|not accepted)|message content"
         r"|phishing|bulk mail|suspicious|pourriel|courrier ind[ée]sirable|als Spam|correo no deseado"
         r"|迷惑メール", SPAM_CONTENT,
         "rejected as spam (content)",
         "The receiver's filters judged the message itself to be spam or dangerous."),
    _gen(r"connection (?:timed out|refused|reset|closed|lost|died)|timed out|no route to host"
         r"|network is unreachable|lost connection|unable to connect|could not connect"
         r"|couldn'?t connect|host is down|cannot connect|connection (?:was )?(?:dropped|broken)",
         NETWORK_ERROR, "connection failed",
         "The sending server could not hold a conversation with the receiver."),
    _gen(r"(?:local|security|site|recipient'?s?|mailbox|e-?mail|content|receiving|organi[sz]ation'?s?)"
         r" polic(?:y|ies)|policy (?:violation|restrictions?|reasons?)|not authori[sz]ed to (?:send|receive"
         r"|deliver)|Delivery not authori[sz]ed|message refused|only accepts? (?:mail|messages) from"
         r"|restricted (?:mailing list|recipient|distribution)"
         r"|not (?:allowed|permitted) to (?:send|post|e-?mail)"
         r"|prohibited by|politique (?:de s[ée]curit[ée]|locale)|Richtlinie", POLICY_REJECTED,
         "refused by the receiver's policy",
         "A rule of the receiving side refuses this delivery."),
    _gen(r"try (?:again )?later|temporarily (?:rejected|deferred|unavailable)|please retry",
         GREYLISTED, "temporary refusal: try again later",
         "The receiver asked the sender to come back later. With no other reason given, this is "
         "usually greylisting, which resolves itself on the next retry.", classes="4", strength=1),
    _gen(r"access denied|\bdenied\b|\brejected\b|\brefused\b|not accepted", POLICY_REJECTED,
         "refused (no reason given)",
         "The receiver refused without saying why beyond 'denied' or 'rejected'.", strength=1),
)

#: The generic signatures; only the SPF and DKIM/DMARC ones say more than their bounce class.
GENERIC: tuple[Signature, ...] = tuple(
    sig if sig.topic in ("SPF check failed", "DKIM/DMARC check failed") else replace(sig, adds_detail=False)
    for sig in _GENERIC
)

#: Text that bounces carry whatever the reason: boilerplate read out of context misleads (a
#: cPanel bounce says "may be blacklisted" in every notice, a Sendmail one quotes the HELO of
#: the original submission). It is removed before the words are weighed.
BOILERPLATE: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"The account or domain may not exist, they may be (?:black|block)listed, or missing the proper "
    r"dns entries\.?",
    r"For further assistance, please (?:send mail to|contact) (?:<?postmaster>?|your helpdesk)\.?",
    r"If you do so, please include this problem report\..{0,120}returned message\.",
    r"Please check the recipient'?s e-?mail address and try to resend the message\.?",
    r"If the problem continues, (?:please )?contact your (?:helpdesk|administrator|email admin)\.?",
    r"\((?:HELO|EHLO)[= ][\w.\[\]:-]+\)",
    r"This is an automatically generated (?:message|Delivery Status Notification)\.?",
))
