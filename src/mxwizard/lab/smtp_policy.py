"""What a lab mail host answers, decided without any I/O: the reply policy of every lab host.

The wizard learns to recognise real receivers by their replies, so the lab's replies must be right
to the letter: a Postfix MX's texts wherever Postfix has one. The cheapest way to keep them right
is to keep them here, as plain functions and data that a test can call without a socket. Nothing in
this module opens a connection, asks DNS, sleeps or reads a clock: the server
(:mod:`mxwizard.lab.smtp_session`) does the I/O, hands over what it learnt (the client checks'
verdict from :mod:`mxwizard.lab.client_checks`, the HELO name, the time) and sends what this
module decides.

Order of checks at RCPT, as Postfix's `smtpd_recipient_restrictions` would apply them: client
checks (reverse DNS, forward confirmation, blocklist), HELO checks, greylisting, then the
relay/recipient decision. HELO checks are applied at RCPT time, not at HELO: that is Postfix's
default (`smtpd_delay_reject = yes`), so HELO/EHLO itself is always answered 250.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

MODES = ("listen", "refuse", "blackhole")
BANNERS = ("ok", "reject")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MESSAGE_SIZE_LIMIT = 10_240_000
"""Postfix's default `message_size_limit`, announced in the EHLO reply."""
SESSIONS_KEPT = 1000
"""How many session logs each host keeps (the oldest go first), so `lab serve` cannot grow forever."""
IDLE_TIMEOUT = 300.0
"""Postfix's `smtpd_timeout`: an idle session is dropped after this many seconds."""


@dataclass(frozen=True)
class HostSpec:
    """How one lab SMTP host behaves: its name and address, what it accepts, which checks it runs."""

    name: str
    """Its FQDN, said in the banner and the EHLO reply."""
    ip: str
    """The 127.x address it listens on."""
    domains: tuple[str, ...] = ()
    """Domains it is the final destination for."""
    users: tuple[str, ...] | None = None
    """Known local parts; None: every local part exists. "postmaster" always exists."""
    mode: str = "listen"
    """"listen"; "refuse" (nothing bound: connection refused); "blackhole" (connect() times out)."""
    open_relay: bool = False
    """Accepts any recipient for any domain from anyone."""
    starttls: bool = True
    """Offers STARTTLS with a self-signed certificate for `name`."""
    greylist_seconds: float | None = None
    """450 4.7.1 at RCPT for a new (client IP, sender, recipient) triplet until this much time passed."""
    helo_checks: bool = False
    """Postfix's reject_invalid_helo_hostname and reject_non_fqdn_helo_hostname (at RCPT)."""
    client_checks: bool = False
    """Postfix's reject_unknown_client_hostname and reject_rbl_client against the lab DNS."""
    banner: str = "ok"
    """"ok" or "reject" (554 5.3.2 greeting, then 503 to everything but QUIT)."""
    banner_name: str | None = None
    """The name said in the banner if it differs from `name`."""
    accept_data: bool = True
    """DATA is accepted (250 queued) and the message discarded; False: 550 5.7.1 after the data."""

    def __post_init__(self) -> None:
        if ipaddress.ip_address(self.ip) not in LOOPBACK:
            raise ValueError(f"lab host {self.name} must listen on 127.0.0.0/8, not {self.ip}")
        if self.mode not in MODES:
            raise ValueError(f"lab host {self.name}: mode must be one of {MODES}, not {self.mode!r}")
        if self.banner not in BANNERS:
            raise ValueError(f"lab host {self.name}: banner must be one of {BANNERS}")

    @property
    def greeting_name(self) -> str:
        """The host name said in the 220 (or 554) greeting."""
        return self.banner_name or self.name


@dataclass
class SessionLog:
    """What one host saw in one connection: who connected, the HELO name, every command line."""

    peer: str
    """The client's IP address."""
    helo: str | None = None
    """The last HELO/EHLO name given (None if the client never said one)."""
    commands: list[str] = field(default_factory=list)
    """Command lines as received, without CRLF; AUTH arguments redacted; message data excluded."""
    tls: bool = False
    """True once STARTTLS was negotiated."""


def logged_line(raw: bytes) -> str:
    """A command line as the session log keeps it: without CRLF, and with AUTH's secret redacted
    (the log is shown to trainers and kept in lesson files)."""
    line = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
    verb, _, argument = line.partition(" ")
    if verb.upper() == "AUTH" and argument:
        mechanism, _, secret = argument.partition(" ")
        line = f"{verb} {mechanism}" + (" [redacted]" if secret else "")
    return line


# -- HELO and recipients ---------------------------------------------------------------------

_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_hostname(name: str) -> bool:
    """Postfix's valid_hostname(): letters, digits, '-' and '_', sane labels, not all numeric."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 255:
        return False
    labels = name.split(".")
    return all(_LABEL.match(label) for label in labels) and not all(label.isdigit() for label in labels)


def helo_rejection(helo: str | None) -> str | None:
    """The reply Postfix's HELO restrictions give to `helo`, or None if it passes."""
    if helo is None:
        return None
    if helo.startswith("[") and helo.endswith("]"):
        inner = helo[1:-1]
        inner = inner[5:] if inner.lower().startswith("ipv6:") else inner
        return None if _is_address(inner) else f"501 5.5.2 <{helo}>: Helo command rejected: Invalid name"
    if not _valid_hostname(helo) and not _is_address(helo):
        return f"501 5.5.2 <{helo}>: Helo command rejected: Invalid name"
    if not _valid_hostname(helo) or "." not in helo.rstrip("."):
        return f"504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname"
    return None


def _has_sender_routing(local_part: str) -> bool:
    """True for user%elsewhere, elsewhere!user and "user@elsewhere" local parts."""
    return any(mark in local_part.strip('"') for mark in "@%!")


def destination_reply(spec: HostSpec, address: str) -> str:
    """The relay/recipient decision for `address`, as Postfix's reject_unauth_destination would do it."""
    if spec.open_relay:
        return "250 2.1.5 Ok"
    local, at, domain = address.rpartition("@")
    if not at:
        if address.lower() == "postmaster":
            return "250 2.1.5 Ok"
        return f"504 5.5.2 <{address}>: Recipient address rejected: need fully-qualified address"
    domain = domain.lower().rstrip(".")
    if domain not in {d.lower().rstrip(".") for d in spec.domains} or _has_sender_routing(local):
        return f"554 5.7.1 <{address}>: Relay access denied"
    known = None if spec.users is None else {user.lower() for user in spec.users} | {"postmaster"}
    if known is None or local.lower() in known:
        return "250 2.1.5 Ok"
    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


# -- the client checks' replies (their DNS lookups are in lab/client_checks.py) ---------------


def unknown_client_reply(ip: str) -> str:
    """reject_unknown_client_hostname: no PTR, or a PTR name that does not resolve back to `ip`."""
    return f"450 4.7.25 Client host rejected: cannot find your hostname, [{ip}]"


LOOKUP_FAILURE_REPLY = "451 4.3.0 Client host rejected: Temporary lookup failure"
"""The client's reverse DNS could not be looked up (SERVFAIL, timeout)."""


def blocklisted_reply(ip: str, zone: str, reason: str | None = None) -> str:
    """reject_rbl_client: `ip` is listed on `zone`; `reason` is the list's TXT (already made
    safe to show), None when the list gave none."""
    return f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using {zone}" + (
        "" if reason is None else f"; {reason}"
    )


# -- one host's policy -----------------------------------------------------------------------


class ReplyPolicy:
    """What one host answers, command by command. Its only state is the greylist, which is
    why it is an object: a triplet seen once must be let through later (the clock is passed in)."""

    def __init__(self, spec: HostSpec) -> None:
        self.spec = spec
        self.greylist: dict[tuple[str, str, str], float] = {}
        """First time each (client IP, sender, recipient) triplet was seen (monotonic seconds)."""

    def forget(self) -> None:
        """Forget the greylist's triplets (a lesson run again must be greylisted again)."""
        self.greylist.clear()

    def greeting(self, default: str) -> str:
        """The greeting: `default` (aiosmtpd's 220 with our name), or 554 for a refusing host."""
        if self.spec.banner == "reject":
            return f"554 5.3.2 {self.spec.greeting_name} ESMTP Service unavailable"
        return default

    def ehlo(self, tls_active: bool) -> list[str]:
        """The EHLO reply lines, STARTTLS offered only before TLS and only by hosts that have it."""
        lines = [self.spec.name, "PIPELINING", f"SIZE {MESSAGE_SIZE_LIMIT}"]
        if self.spec.starttls and not tls_active:
            lines.append("STARTTLS")
        lines += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    def recipient(self, address: str, *, peer: str, sender: str | None, helo: str | None,
                  client_rejection: str | None, now: float) -> str:
        """The reply to RCPT TO:<address>. `client_rejection` is the client checks' verdict on
        `peer` (None when they passed or the host runs none); `now` a monotonic time in seconds."""
        if self.spec.client_checks and client_rejection:
            return client_rejection
        if self.spec.helo_checks:
            rejection = helo_rejection(helo)
            if rejection:
                return rejection
        if self.spec.greylist_seconds is not None:
            triplet = (peer, (sender or "").lower(), address.lower())
            first_seen = self.greylist.setdefault(triplet, now)
            if now - first_seen < self.spec.greylist_seconds:
                return f"450 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"
        return destination_reply(self.spec, address)

    def data(self, queue_id: str) -> str:
        """The reply after the message data (which the lab never keeps)."""
        if not self.spec.accept_data:
            return "550 5.7.1 Message content rejected"
        return f"250 2.0.0 Ok: queued as {queue_id}"


# -- aiosmtpd's own texts, said the Postfix way -----------------------------------------------

POSTFIX_TEXTS = {
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO/EHLO first",
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "454 TLS not available": "502 5.5.1 Error: command not implemented",
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed limit"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Error: message file too big",
}
"""aiosmtpd's own reply texts, reworded the way Postfix says the same thing."""


def postfix_wording(reply: str) -> str:
    """`reply` as Postfix words it (aiosmtpd words some replies in code we do not own)."""
    if reply in POSTFIX_TEXTS:
        return POSTFIX_TEXTS[reply]
    if reply.startswith("501 Syntax:"):
        return "501 5.5.4 Syntax:" + reply[len("501 Syntax:") :]
    if reply.startswith('500 Error: command "'):
        return "502 5.5.2 Error: command not recognized"
    return reply


#: Replies to commands a Postfix MX refuses or does not offer (the lab never authenticates).
REFUSED_COMMANDS = {
    "AUTH": "503 5.5.1 Error: authentication not enabled",
    "VRFY": "502 5.5.1 VRFY command is disabled",
    "EXPN": "502 5.5.2 Error: command not recognized",
    "HELP": "502 5.5.2 Error: command not recognized",
}
ONLY_QUIT_REPLY = "503 5.5.1 Error: service unavailable, only QUIT is accepted here"
"""What a host that greeted with 554 answers to everything but QUIT."""
TLS_ALREADY_ACTIVE = "554 5.5.1 Error: TLS already active"
NO_VALID_RECIPIENTS = "554 5.5.1 Error: no valid recipients"
"""DATA after MAIL FROM when every RCPT TO was refused."""
HANDLER_FAILURE = "451 4.3.0 Error: local lab failure"
