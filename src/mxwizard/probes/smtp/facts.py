"""The facts an SMTP session yields: the commands a caller may script, replies, and the outcome.

Plain data, no I/O: :mod:`mxwizard.probes.smtp.session` fills these in while it talks to a server, and the
rules read them. Text that came from the server (reply lines, extension parameters) is kept raw
here; it must be sanitised with :func:`mxwizard.core.untrusted.visible` wherever it is shown.

:class:`Command` is also where two safety rules live: AUTH cannot be built at all, and DATA only
as :meth:`Command.test_message` (which the session still refuses unless told to allow it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from mxwizard.core.transcript import Transcript, TranscriptLine
from mxwizard.probes.smtp.protocol import Anomaly
from mxwizard.probes.smtp.tls import TlsFacts

#: Verbs a :class:`Command` may carry. AUTH is deliberately absent.
VERBS = frozenset({"EHLO", "STARTTLS", "MAIL", "RCPT", "RSET", "NOOP", "VRFY", "QUIT", "DATA"})
#: EHLO replies after which a client falls back to HELO (RFC 5321 3.2: command not recognised).
EHLO_FALLBACK_CODES = frozenset({500, 502})
#: How a session ends when the probe cut it off: the whole conversation took longer than its
#: budget although each reply came in time ("too slow"), or the server sent more lines than the
#: session's cap ("too many lines", a protocol error).
CUT_OFF = frozenset({"too slow", "too many lines"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s|$)")


@dataclass(frozen=True)
class Command:
    """One step of a scripted session. Build them with the class methods (``Command.ehlo()``)."""

    verb: str
    argument: str = ""
    #: STARTTLS only: end the session if TLS cannot be had (as a sender that insists on TLS).
    required: bool = False
    #: DATA only: the test message to send (and the session must allow DATA).
    message: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.verb not in VERBS:
            raise ValueError(f"the SMTP probe does not send {self.verb!r}")
        if _CONTROL.search(self.argument):
            raise ValueError("command arguments must not contain control characters")
        if (self.verb == "DATA") != (self.message is not None):
            raise ValueError("DATA needs a message, and only DATA takes one")

    @classmethod
    def ehlo(cls) -> Command:
        """EHLO with the session's HELO name, falling back to HELO on 500/502."""
        return cls("EHLO")

    @classmethod
    def starttls(cls, *, required: bool = False) -> Command:
        """STARTTLS if the server offers it, then EHLO again as RFC 3207 requires."""
        return cls("STARTTLS", required=required)

    @classmethod
    def mail_from(cls, address: str, *parameters: str) -> Command:
        """MAIL FROM:<address>; an empty address is the null sender used by bounces."""
        return cls("MAIL", " ".join((f"FROM:<{address}>", *parameters)))

    @classmethod
    def rcpt_to(cls, address: str, *parameters: str) -> Command:
        """RCPT TO:<address>; skipped when the transaction's MAIL FROM was not accepted."""
        return cls("RCPT", " ".join((f"TO:<{address}>", *parameters)))

    @classmethod
    def rset(cls) -> Command:
        """RSET: abandon the transaction, keep the connection."""
        return cls("RSET")

    @classmethod
    def noop(cls) -> Command:
        """NOOP: is the server still there?"""
        return cls("NOOP")

    @classmethod
    def vrfy(cls, address: str) -> Command:
        """VRFY address."""
        return cls("VRFY", address)

    @classmethod
    def quit(cls) -> Command:
        """QUIT (sent anyway at the end of a session that is still open)."""
        return cls("QUIT")

    @classmethod
    def test_message(cls, message: bytes) -> Command:
        """DATA and ``message``: only runs in a session opened with ``allow_data=True``."""
        return cls("DATA", message=message)

    @property
    def line(self) -> str:
        """The command as written on the wire, without CRLF."""
        return f"{self.verb} {self.argument}" if self.argument else self.verb


@dataclass(frozen=True)
class Reply:
    """One complete server reply: the code, the enhanced status code if any, each line's text."""

    code: int
    lines: tuple[str, ...]
    enhanced: str | None
    #: When the reply was complete, on the caller's clock (ms).
    t_ms: float

    @classmethod
    def parse(cls, code: int, message: str, t_ms: float) -> Reply:
        """Build from aiosmtplib's (code, message) where message lines are joined by newlines."""
        lines = tuple(message.split("\n"))
        match = _ENHANCED.match(lines[0]) if lines else None
        return cls(code, lines, match.group(1) if match else None, t_ms)

    @property
    def text(self) -> str:
        """All lines' text joined by spaces (network text: sanitise before showing)."""
        return " ".join(line.strip() for line in self.lines)

    @property
    def positive(self) -> bool:
        """2yz or 3yz: done, or go ahead."""
        return 200 <= self.code < 400

    @property
    def transient(self) -> bool:
        """4yz: try again later."""
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        """5yz: do not try again."""
        return 500 <= self.code < 600


@dataclass(frozen=True)
class Exchange:
    """One command and what became of it."""

    verb: str
    command: str
    #: Sent at, on the caller's clock (ms).
    t_ms: float
    reply: Reply | None = None
    #: Why there is no reply: timed out, connection lost, skipped, garbage.
    error: str | None = None

    @property
    def ms(self) -> float | None:
        """How long the server took to answer."""
        return None if self.reply is None else self.reply.t_ms - self.t_ms


class ConnectOutcome(str, Enum):
    """How the attempt to reach the server ended, in the words the rules need."""

    GREETED = "greeted"  # TCP up and a proper greeting (of any code) arrived
    REFUSED = "refused"  # a host answered, but nothing listens on the port (or a firewall rejects)
    TIMEOUT = "timeout"  # the TCP connection did not complete in time (filtered, or port 25 blocked)
    UNREACHABLE = "unreachable"  # no route to the host or network
    NO_GREETING = "no-greeting"  # TCP up but the server said nothing in time
    CLOSED = "closed-before-greeting"  # TCP up, then closed without a greeting
    BAD_GREETING = "bad-greeting"  # the first thing the server sent is not an SMTP reply
    ERROR = "error"  # any other local or socket error (e.g. the source address is not ours)

    @property
    def tcp_connected(self) -> bool:
        """True when the TCP connection was made, whatever happened next."""
        return self in {ConnectOutcome.GREETED, ConnectOutcome.NO_GREETING, ConnectOutcome.CLOSED,
                        ConnectOutcome.BAD_GREETING}


@dataclass
class SessionFacts:
    """Everything one session showed. No judgement: the rules decide what it means."""

    host: str
    ip: str
    port: int
    helo: str
    source_ip: str | None
    outcome: ConnectOutcome = ConnectOutcome.ERROR
    #: The error that prevented or ended the session, in plain words (network text sanitised).
    error: str | None = None
    banner: Reply | None = None
    #: The latest reply to EHLO (or HELO after a fallback).
    ehlo: Reply | None = None
    helo_fallback: bool = False
    #: EHLO keywords (upper case) and their parameters; after STARTTLS, the encrypted session's.
    extensions: dict[str, str] = field(default_factory=dict)
    #: The plaintext EHLO's extensions when STARTTLS succeeded (RFC 3207: they are discarded).
    extensions_before_tls: dict[str, str] | None = None
    tls: TlsFacts | None = None
    tls_error: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    lines: list[TranscriptLine] = field(default_factory=list)
    #: How the session ended: "quit", "greeting refused", "421", "timeout", "closed by server",
    #: "too slow", "too many lines", ...
    ended: str = "not connected"
    elapsed_ms: float = 0.0

    @property
    def cut_off(self) -> bool:
        """Did the probe cut the session off (see :data:`CUT_OFF`)? :attr:`error` says why."""
        return self.ended in CUT_OFF

    @property
    def starttls_offered(self) -> bool:
        """Did the (plaintext) EHLO offer STARTTLS?"""
        before = self.extensions_before_tls
        return "STARTTLS" in (before if before is not None else self.extensions)

    def replies_to(self, verb: str) -> list[Exchange]:
        """Every exchange for ``verb`` in order."""
        return [exchange for exchange in self.exchanges if exchange.verb == verb.upper()]

    def last(self, verb: str) -> Exchange | None:
        """The last exchange for ``verb``, if any."""
        found = self.replies_to(verb)
        return found[-1] if found else None

    def transcript(self) -> Transcript:
        """The session as a :class:`Transcript` (the runner builds its own through ``on_line``)."""
        return Transcript(self.host, self.ip, self.port, list(self.lines))


def parse_extensions(reply: Reply) -> dict[str, str]:
    """EHLO keywords from a 250 reply (the first line is the greeting, not an extension)."""
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, parameters = line.strip().partition(" ")
        if keyword:
            extensions.setdefault(keyword.upper(), parameters.strip())
    return extensions


def check_helo_name(helo: str) -> None:
    """Refuse a HELO name that cannot go on the wire as one word (a usage error, not a fact)."""
    if not helo or any(ch.isspace() for ch in helo) or _CONTROL.search(helo) or not helo.isascii():
        raise ValueError(f"unusable HELO name: {helo!r}")
