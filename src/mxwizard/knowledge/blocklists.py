"""Blocklists (DNSBLs): which public lists to ask, and what each answer code means.

A DNS blocklist answers an A query for the reversed address under its zone
(``4.3.2.1.zen.spamhaus.org`` asks about 1.2.3.4): NXDOMAIN means "not listed", an address in
127.0.0.0/8 means "listed", and the last octet says why. The same code means different things
on different lists, and different reasons need different fixes: a Spamhaus PBL entry (a home
connection) is cured by sending through the ISP's relay, an XBL entry (an infected machine) by
cleaning the machine first. This module holds that knowledge as data: the default set of lists
that are alive today (SORBS, NJABL, AHBL... closed years ago and answer nothing or everything),
their codes, their removal pages, and the answers that are not listings at all (127.255.255.x
from Spamhaus: the query came through a public resolver or was malformed, RFC 5782 §2.1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class ListKind(str, Enum):
    """What a list is keyed by: the sending IP address, or a domain name."""

    IP = "ip"
    DOMAIN = "domain"


class Cause(str, Enum):
    """What to fix before asking for removal, in the order a postmaster would look."""

    SPAM = "spam"  # mail from this address hit spam traps or was reported
    INFECTED = "infected"  # a bot or compromised machine behind the address
    OPEN_RELAY = "open-relay"  # the server relays for strangers
    DYNAMIC = "dynamic"  # an end-user or dynamic range that should not send directly
    HOSTILE_NETWORK = "hostile-network"  # the whole network is run by or for spammers
    REPUTATION = "reputation"  # volume or complaints made the address look bad
    DOMAIN_ABUSE = "domain-abuse"  # the domain appears in spam, phishing or malware


#: What to fix first for each cause (the removal request comes after the fix, never before).
FIRST_FIX: Mapping[Cause, str] = {
    Cause.SPAM: (
        "Find out what sent the mail that got reported: a compromised mailbox password (look for "
        "logins from foreign countries in the mail log), a web form or script that sends mail, or "
        "a list without confirmed opt-in. Stop it, then ask for removal."),
    Cause.INFECTED: (
        "A machine behind this address is infected or compromised and talks to a botnet or sends "
        "spam itself. Find it (firewall logs: which host connects out to port 25 other than your "
        "mail server?), clean or reinstall it, block outbound port 25 for everything except the "
        "mail server, then ask for removal."),
    Cause.OPEN_RELAY: (
        "Make sure the server is not an open relay (run: mxwizard check relay YOUR-SERVER) and "
        "that only authenticated users may send to outside domains. Then ask for removal."),
    Cause.DYNAMIC: (
        "This is not an accusation: the address belongs to a range of home or dynamic "
        "connections, and many receivers refuse direct mail from such ranges. Send outgoing mail "
        "through your ISP's or mail provider's relay (smarthost) on port 587 with a login, or ask "
        "the ISP for a static address with your own reverse DNS."),
    Cause.HOSTILE_NETWORK: (
        "The whole network range is listed as run by or for spammers. Only the network's owner "
        "can fix that; move the mail server to a reputable provider."),
    Cause.REPUTATION: (
        "Receivers saw too much unwanted mail from this address. Check what the server sent "
        "recently (queues, logs), stop anything unexpected, and the listing usually expires by "
        "itself."),
    Cause.DOMAIN_ABUSE: (
        "The domain itself appeared in spam, phishing or malware. Check for hacked web pages or "
        "mailboxes on the domain, clean them, then ask for removal."),
}


@dataclass(frozen=True)
class Code:
    """The meaning of one answer address on one list."""

    label: str
    meaning: str
    cause: Cause


@dataclass(frozen=True)
class Blocklist:
    """One public list: where to ask, what the answers mean, where to ask for removal."""

    zone: str
    name: str
    kind: ListKind = ListKind.IP
    #: Answer address → meaning. An address not in the table falls back to ``default``.
    codes: Mapping[str, Code] = field(default_factory=dict)
    default: Code = Code("listed", "The address is on this list.", Cause.SPAM)
    removal: str = ""
    #: Answers that mean "this list refused your query", not a listing.
    refusals: frozenset[str] = frozenset()
    #: A note shown with every answer of this list (how it is run, what it expects of users).
    note: str = ""
    #: The entry the list promises to list, for the self-test (RFC 5782: 127.0.0.2 or "test").
    test_entry: str = ""

    def decode(self, answer: str) -> Code:
        """The meaning of an answer address (``default`` when the list did not document it)."""
        return self.codes.get(answer, self.default)


#: Spamhaus' error answers (RFC 5782 §2.1 reserves 127.255.255.x for such replies on any list).
SPAMHAUS_ERRORS = frozenset({"127.255.255.252", "127.255.255.254", "127.255.255.255"})

_SPAMHAUS_REMOVAL = "https://check.spamhaus.org/"
_XBL = Code("XBL", "Spamhaus Exploits Block List: a machine behind this address is infected, "
            "runs an open proxy, or is otherwise exploited.", Cause.INFECTED)
_PBL = Code("PBL", "Spamhaus Policy Block List: the address is in a range its owner (or Spamhaus) "
            "says should not send mail directly to the internet — a home or dynamic connection.",
            Cause.DYNAMIC)

ZEN = Blocklist(
    "zen.spamhaus.org", "Spamhaus ZEN",
    codes={
        "127.0.0.2": Code("SBL", "Spamhaus Block List: the address was seen sending spam or is run "
                          "for spammers.", Cause.SPAM),
        "127.0.0.3": Code("CSS", "Spamhaus CSS: the address sent low-reputation mail (snowshoe "
                          "spam, or a compromised account, or a bad HELO or reverse DNS).",
                          Cause.SPAM),
        "127.0.0.4": _XBL, "127.0.0.5": _XBL, "127.0.0.6": _XBL, "127.0.0.7": _XBL,
        "127.0.0.9": Code("DROP", "Spamhaus DROP: the whole network is hijacked or run by "
                          "criminals; traffic from it is refused outright.", Cause.HOSTILE_NETWORK),
        "127.0.0.10": _PBL, "127.0.0.11": _PBL,
    },
    removal=_SPAMHAUS_REMOVAL, refusals=SPAMHAUS_ERRORS,
    note="Spamhaus refuses queries that come through big public resolvers (8.8.8.8, 1.1.1.1...).",
)

#: The default set of IP lists: widely used, alive, free for low-volume queries.
DEFAULT_IP_LISTS: tuple[Blocklist, ...] = (
    ZEN,
    Blocklist("bl.spamcop.net", "SpamCop",
              default=Code("listed", "SpamCop users reported spam from this address.", Cause.SPAM),
              removal="https://www.spamcop.net/bl.shtml",
              note="SpamCop entries expire by themselves about a day after the reports stop."),
    Blocklist("b.barracudacentral.org", "Barracuda Reputation Block List",
              default=Code("listed", "Barracuda saw spam or bad reputation from this address.",
                           Cause.REPUTATION),
              removal="https://www.barracudacentral.org/rbl/removal-request",
              note="Barracuda answers only resolvers registered with it (free)."),
    Blocklist("psbl.surriel.com", "Passive Spam Block List (PSBL)",
              default=Code("listed", "The address sent mail to PSBL's spam traps.", Cause.SPAM),
              removal="https://psbl.org/remove"),
    Blocklist("dnsbl-1.uceprotect.net", "UCEPROTECT level 1",
              default=Code("listed", "The address sent mail to UCEPROTECT's spam traps.", Cause.SPAM),
              removal="https://www.uceprotect.net/en/rblcheck.php",
              note="Level-1 entries expire by themselves seven days after the last trap hit; "
                   "paying for removal is never necessary."),
    Blocklist("bl.mailspike.net", "Mailspike",
              codes={
                  "127.0.0.2": Code("listed", "Mailspike saw this address in a current spam wave.",
                                    Cause.SPAM),
                  "127.0.0.10": Code("L5", "Mailspike reputation: worst.", Cause.REPUTATION),
                  "127.0.0.11": Code("L4", "Mailspike reputation: very bad.", Cause.REPUTATION),
                  "127.0.0.12": Code("L3", "Mailspike reputation: bad.", Cause.REPUTATION),
              },
              default=Code("listed", "Mailspike lists this address.", Cause.REPUTATION),
              removal="https://mailspike.io/ip_verify"),
    Blocklist("ix.dnsbl.manitu.net", "NiX Spam (manitu)",
              default=Code("listed", "The address sent mail to NiX Spam's traps.", Cause.SPAM),
              removal="https://www.dnsbl.manitu.net/"),
)

_DBL_ABUSED = "The domain is a legitimate one whose pages or mailboxes were abused for "
#: The default domain lists, asked about the sender's domain.
DEFAULT_DOMAIN_LISTS: tuple[Blocklist, ...] = (
    Blocklist(
        "dbl.spamhaus.org", "Spamhaus Domain Block List", ListKind.DOMAIN,
        codes={
            "127.0.1.2": Code("spam", "The domain appears in spam.", Cause.DOMAIN_ABUSE),
            "127.0.1.4": Code("phish", "The domain is used for phishing.", Cause.DOMAIN_ABUSE),
            "127.0.1.5": Code("malware", "The domain serves malware.", Cause.DOMAIN_ABUSE),
            "127.0.1.6": Code("botnet C&C", "The domain controls a botnet.", Cause.DOMAIN_ABUSE),
            "127.0.1.102": Code("abused legit spam", _DBL_ABUSED + "spam.", Cause.DOMAIN_ABUSE),
            "127.0.1.103": Code("abused redirector", _DBL_ABUSED + "redirects.", Cause.DOMAIN_ABUSE),
            "127.0.1.104": Code("abused legit phish", _DBL_ABUSED + "phishing.", Cause.DOMAIN_ABUSE),
            "127.0.1.105": Code("abused legit malware", _DBL_ABUSED + "malware.", Cause.DOMAIN_ABUSE),
            "127.0.1.106": Code("abused botnet C&C", _DBL_ABUSED + "a botnet.", Cause.DOMAIN_ABUSE),
        },
        default=Code("listed", "Spamhaus lists the domain.", Cause.DOMAIN_ABUSE),
        removal=_SPAMHAUS_REMOVAL, refusals=SPAMHAUS_ERRORS, test_entry="dbltest.com"),
    Blocklist("multi.surbl.org", "SURBL", ListKind.DOMAIN,
              default=Code("listed", "The domain appears in spam, phishing or malware messages.",
                           Cause.DOMAIN_ABUSE),
              removal="https://surbl.org/surbl-analysis",
              refusals=frozenset({"127.0.0.1"}),
              note="SURBL answers 127.0.0.1 to resolvers that are not allowed to ask.",
              test_entry="test.surbl.org"),
    Blocklist("multi.uribl.com", "URIBL", ListKind.DOMAIN,
              codes={
                  "127.0.0.2": Code("black", "The domain appears in spam often.", Cause.DOMAIN_ABUSE),
                  "127.0.0.4": Code("grey", "The domain appears in bulk mail.", Cause.DOMAIN_ABUSE),
                  "127.0.0.8": Code("red", "The domain appears in spam, recently.", Cause.DOMAIN_ABUSE),
              },
              default=Code("listed", "URIBL lists the domain.", Cause.DOMAIN_ABUSE),
              removal="https://admin.uribl.com/",
              refusals=frozenset({"127.0.0.1"}),
              note="URIBL answers 127.0.0.1 to resolvers that are not allowed to ask.",
              test_entry="test.uribl.com"),
)

_KNOWN: dict[str, Blocklist] = {b.zone: b for b in (*DEFAULT_IP_LISTS, *DEFAULT_DOMAIN_LISTS)}


def blocklist(zone: str) -> Blocklist:
    """The list behind ``zone``: a known one with its codes, else a generic IP list (``--dnsbl``)."""
    zone = zone.lower().rstrip(".")
    known = _KNOWN.get(zone)
    if known is not None:
        return known
    return Blocklist(zone, zone, removal=f"the web site of {zone}")


def is_refusal(bl: Blocklist, answer: str) -> bool:
    """True when ``answer`` means the list refused the query (never a listing).

    Besides the list's own refusal codes, any answer in 127.255.255.0/24 is an error report
    (RFC 5782 §2.1 keeps listings inside 127.0.0.0/8 and Spamhaus uses that block for errors),
    and an answer outside 127.0.0.0/8 is a resolver that rewrites NXDOMAIN (ads, captive portals).
    """
    if answer in bl.refusals:
        return True
    try:
        address = ipaddress.ip_address(answer)
    except ValueError:
        return True
    return address in ipaddress.ip_network("127.255.255.0/24")


def is_listing_address(answer: str) -> bool:
    """True when ``answer`` has the shape of a listing: an IPv4 address in 127.0.0.0/8."""
    try:
        address = ipaddress.ip_address(answer)
    except ValueError:
        return False
    return address.version == 4 and address in ipaddress.ip_network("127.0.0.0/8")
