"""The SMTP probe: hold a real conversation with one server and return what happened, as facts.

The callers (the receive walk, the delivery rehearsal, the open-relay test, the lessons) say which
commands to send as a list of :class:`Command` values; :func:`smtp_session` connects, sends them
one at a time and returns :class:`SessionFacts`: whether and how the connection failed, the
greeting, the EHLO extensions, what TLS looked like, every reply, and any sign that the server
broke the rhythm of the protocol. Callers that decide as they go (a trainer stepping through a
session) use :class:`SmtpConversation` directly.

Rules this module keeps:

* It never raises for network trouble. Refused, timed out, reset, garbage, TLS failure: each
  becomes a fact and an ``error`` line in the transcript. Only programming errors (a bad
  argument) raise.
* Every wait has a time limit: the TCP connect, each reply (a total budget, so a server that
  drips one byte at a time still ends in time), the TLS handshake. And the whole conversation
  has one too (``budget``): a server that answers every command just inside the reply's limit,
  or drips each reply so that it just makes it, would otherwise hold a session for as many
  timeouts as there are commands. When the budget runs out the session is cut off, and the
  facts say so in words (``ended == "too slow"``).
* DATA is impossible unless the caller both builds a :meth:`Command.test_message` and passes
  ``allow_data=True``. AUTH cannot be built at all.
* The connection is made with ``start_tls=False`` and an explicit ``local_hostname`` (otherwise
  aiosmtplib would look up this machine's name in DNS); STARTTLS uses the diagnosing context from
  :mod:`mxwizard.probes.smtp.tls`, so a bad certificate is reported rather than fatal.

The bounds of SMTP work, whatever a server does (T is ``--timeout``). Each is a constant,
with its reasons, where it is enforced; this is the index:

* one scripted session (a receive visit's session, one attempt of the delivery rehearsal):
  :data:`SESSION_TIMEOUTS` (4) × T of wall-clock time, here;
* the relay test's conversation: :data:`mxwizard.diagnosis.plans.relay.RELAY_TIMEOUTS` (10) × T;
* each wait inside a conversation: T (connect and greeting, STARTTLS and its handshake: 2 T);
* lines from the server in one session: :data:`~mxwizard.probes.smtp.protocol.MAX_SESSION_LINES`
  (400), replies and surplus lines alike; in one reply:
  :data:`~mxwizard.probes.smtp.protocol.MAX_REPLY_LINES` (200); bytes kept of one line:
  :data:`~mxwizard.probes.smtp.protocol.MAX_LINE_BYTES` (4096);
* MX hosts visited per domain: :data:`mxwizard.diagnosis.plans.visits.MAX_MX_HOSTS` (10) in the
  receive walk, :data:`~mxwizard.diagnosis.plans.visits.SENDER_MX_HOSTS` (5) in the delivery
  rehearsal, as senders do; the most preferred first;
* SMTP sessions open at once in one diagnosis: :data:`mxwizard.diagnosis.tree.SMTP_SESSIONS`
  (8), a pool apart from the DNS concurrency.

A receive visit is one session, and one more after a greylisting deferral (after a wait of at most
:data:`~mxwizard.diagnosis.plans.visits.GREYLIST_WAIT_SECONDS`). The runner's step budgets
(``Step.budget`` × T) stay the backstop around all of it.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiosmtplib
from aiosmtplib import SMTPResponse
from aiosmtplib.errors import (
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from mxwizard.core.transcript import Annotator, TranscriptLine, endpoint
from mxwizard.core.untrusted import visible
from mxwizard.probes.smtp.facts import (
    CUT_OFF,
    EHLO_FALLBACK_CODES,
    Command,
    ConnectOutcome,
    Exchange,
    Reply,
    SessionFacts,
    check_helo_name,
    parse_extensions,
)
from mxwizard.probes.smtp.protocol import (
    MAX_LINE_BYTES,
    MAX_REPLY_LINES,
    MAX_SESSION_LINES,
    SessionRecorder,
    recording_into,
    stop_recording_into,
)
from mxwizard.probes.smtp.tls import TlsFacts, describe, diagnosing_context, tls_facts

__all__ = ["CUT_OFF", "MAX_LINE_BYTES", "MAX_REPLY_LINES", "MAX_SESSION_LINES", "SESSION_TIMEOUTS",
           "Command", "ConnectOutcome", "Exchange", "OutOfTime", "Reply", "SessionFacts",
           "SmtpConversation", "smtp_session"]

_T = TypeVar("_T")

#: The wall-clock bound of one scripted session, in timeouts: a receive visit's session or one
#: attempt of the delivery rehearsal ends within SESSION_TIMEOUTS × ``--timeout``, connect
#: included. Such a session waits for about eight replies (greeting, EHLO, STARTTLS, EHLO again,
#: MAIL, one or two RCPT, QUIT); a real server answers each in well under a second, and even a
#: server with a greeting delay of several seconds stays far inside. A server that answers
#: every command just inside the reply's time limit (or drips each reply so that it just makes
#: it) is cut off here instead of holding the session for eight timeouts or more.
SESSION_TIMEOUTS = 4


class OutOfTime(asyncio.TimeoutError):
    """The conversation's wall-clock budget ran out while we waited (a kind of timeout, so any
    code that handles timeouts handles it too)."""


def _session_clock() -> Callable[[], float]:
    started = time.monotonic()
    return lambda: (time.monotonic() - started) * 1000


class SmtpConversation:
    """One live session, command by command, for callers that decide as they go.

    Use :meth:`open` first; each command method returns the reply (or ``None`` when there was
    none: timeout, lost connection, skipped). :attr:`facts` fills up as the session goes on.
    Always finish with :meth:`close`, which sends QUIT if the session is still open.
    """

    def __init__(
        self,
        host: str,
        ip: str,
        port: int,
        *,
        helo: str,
        timeout: float,
        on_line: Callable[[TranscriptLine], None],
        clock: Callable[[], float] | None = None,
        source_ip: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        allow_data: bool = False,
        slow_greeting_ms: float | None = None,
        budget: float | None = None,
        purpose: str = "the conversation",
    ) -> None:
        check_helo_name(helo)
        ipaddress.ip_address(ip)  # an address, never a name: the probe must not ask the system DNS
        self.timeout = timeout
        #: Seconds the whole conversation may take, from :meth:`open` on (None: no bound beyond
        #: each wait's; only for a person stepping through a session, who may pause).
        self.budget = budget
        #: What the conversation is, as a finding names it ("the relay test").
        self.purpose = purpose
        self._deadline: float | None = None
        self.clock = clock or _session_clock()
        self.tls_context = tls_context
        self.allow_data = allow_data
        if slow_greeting_ms is None:  # a greet pause is ~5 s; with short timeouts, half the budget
            slow_greeting_ms = min(5000.0, timeout * 500)
        self.recorder = SessionRecorder(self.clock, on_line, Annotator(slow_greeting_ms=slow_greeting_ms))
        self.facts = SessionFacts(host, ip, port, helo, source_ip,
                                  lines=self.recorder.lines, anomalies=self.recorder.anomalies)
        self._smtp: aiosmtplib.SMTP | None = None
        self._started = self.clock()
        self._mail_accepted = False
        self._rcpt_accepted = False

    @property
    def usable(self) -> bool:
        """True while the connection is open and commands can be sent."""
        return self._smtp is not None and self._smtp.is_connected

    async def open(self) -> bool:
        """Connect and read the greeting; True when a 2yz greeting invites us to go on."""
        facts = self.facts
        source = f" from {facts.source_ip}" if facts.source_ip else ""
        self.recorder.info(f"connecting to {endpoint(facts.ip, facts.port)}{source}",
                           note=f"we open a TCP connection to the server ({facts.host[:30]})")
        smtp = aiosmtplib.SMTP(
            hostname=facts.ip, port=facts.port, local_hostname=facts.helo,
            source_address=(facts.source_ip, 0) if facts.source_ip else None,
            timeout=self.timeout, use_tls=False, start_tls=False, validate_certs=False,
        )
        if self.budget is not None:
            self._deadline = time.monotonic() + self.budget
        token = recording_into(self.recorder)
        try:
            response = await self._guard(smtp.connect(), phases=2)
        except SMTPConnectResponseError as exc:  # a greeting, but not 220: aiosmtplib hung up
            facts.outcome = ConnectOutcome.GREETED
            facts.banner = Reply.parse(exc.code, exc.message, self.clock())
            facts.ended, facts.error = "greeting refused", f"the server greeted us with {exc.code}"
            facts.elapsed_ms = self.clock() - self._started
            return False
        except (SMTPException, OSError, asyncio.TimeoutError, ValueError) as exc:
            smtp.close()
            self.recorder.flush()
            facts.outcome, facts.error = self._connect_failure(exc)
            self.recorder.error(facts.error, note=_CONNECT_NOTES[facts.outcome])
            facts.ended = "not connected" if not facts.outcome.tcp_connected else facts.outcome.value
            facts.elapsed_ms = self.clock() - self._started
            return False
        finally:
            stop_recording_into(token)
        facts.outcome = ConnectOutcome.GREETED
        facts.banner = Reply.parse(response.code, response.message, self.clock())
        facts.ended = "open"
        self._smtp = smtp
        return not self._notice_cut()

    def _connect_failure(self, exc: BaseException) -> tuple[ConnectOutcome, str]:
        where = endpoint(self.facts.ip, self.facts.port)
        tcp_up = self.recorder.connected_at is not None
        cause = exc.__cause__ if isinstance(exc, SMTPConnectError) else exc
        if isinstance(exc, OutOfTime):
            return (ConnectOutcome.NO_GREETING if tcp_up else ConnectOutcome.TIMEOUT), self._too_slow()
        if isinstance(exc, (SMTPConnectTimeoutError, asyncio.TimeoutError)):
            if tcp_up:
                return ConnectOutcome.NO_GREETING, f"no greeting from {where} within {self.timeout:g} s"
            return ConnectOutcome.TIMEOUT, f"no answer from {where} within {self.timeout:g} s"
        if tcp_up and isinstance(exc, SMTPConnectError):
            return ConnectOutcome.CLOSED, f"{where} closed the connection before greeting"
        if tcp_up or (isinstance(exc, SMTPResponseException) and exc.code == -1):
            return ConnectOutcome.BAD_GREETING, f"{where} sent something that is not an SMTP greeting"
        if isinstance(cause, ConnectionRefusedError):
            return ConnectOutcome.REFUSED, f"connection to {where} refused"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return ConnectOutcome.UNREACHABLE, f"{where} is unreachable: {cause.strerror}"
        if isinstance(cause, OSError) and cause.errno == errno.EADDRNOTAVAIL and self.facts.source_ip:
            return ConnectOutcome.ERROR, f"cannot connect from {self.facts.source_ip}: not an address here"
        return ConnectOutcome.ERROR, f"cannot connect to {where}: {visible(str(cause or exc), 200)}"

    async def run(self, command: Command) -> Reply | None:
        """Run one scripted step (see :class:`Command` for what each does)."""
        verb = command.verb
        if verb == "EHLO":
            return await self.ehlo()
        if verb == "STARTTLS":
            await self.starttls(required=command.required)
            last = self.facts.last("STARTTLS")
            return last.reply if last else None
        if verb == "QUIT":
            return await self.quit()
        if verb == "DATA":
            assert command.message is not None
            return await self.send_test_message(command.message)
        if verb == "RCPT" and not self._mail_accepted:
            self._skip(command.line, "no MAIL FROM was accepted")
            return None
        reply = await self._exchange(verb, command.argument)
        if verb == "MAIL":
            self._mail_accepted = reply is not None and reply.positive
            self._rcpt_accepted = False
        elif verb == "RCPT" and reply is not None and reply.positive:
            self._rcpt_accepted = True
        elif verb == "RSET":
            self._mail_accepted = self._rcpt_accepted = False
        return reply

    async def ehlo(self) -> Reply | None:
        """EHLO with our HELO name; HELO instead if the server does not know EHLO (500/502)."""
        facts = self.facts
        reply = await self._exchange("EHLO", facts.helo)
        if reply is not None and reply.code in EHLO_FALLBACK_CODES and self.usable:
            facts.helo_fallback = True
            facts.extensions = {}
            reply = await self._exchange("HELO", facts.helo)
            if reply is not None and reply.code == 250 and self._smtp is not None:
                self._smtp.last_helo_response = SMTPResponse(reply.code, "\n".join(reply.lines))
        elif reply is not None and reply.code == 250 and self._smtp is not None:
            self._smtp.last_ehlo_response = SMTPResponse(reply.code, "\n".join(reply.lines))
            facts.extensions = parse_extensions(reply)
        if reply is not None:
            facts.ehlo = reply
        self._mail_accepted = self._rcpt_accepted = False
        return reply

    async def starttls(self, *, required: bool = False) -> TlsFacts | None:
        """Switch to TLS if offered, describe the result, and greet again inside TLS."""
        facts, smtp = self.facts, self._smtp
        if smtp is None or not self.usable or facts.tls is not None:
            return facts.tls
        if "STARTTLS" not in facts.extensions:
            self.recorder.info("the server does not offer STARTTLS",
                               note="mail to this server would cross the network unencrypted")
            if required:
                await self.quit()
            return None
        sent = self.clock()
        server_name = None if _is_address(facts.host) else facts.host
        try:
            response = await self._guard(smtp.starttls(
                server_hostname=server_name, tls_context=self.tls_context or diagnosing_context(),
                timeout=self.timeout), phases=2)
        except SMTPResponseException as exc:
            if exc.code < 0:
                self._fail("STARTTLS", "STARTTLS", sent, exc)
                return None
            reply = Reply.parse(exc.code, exc.message, self.clock())
            facts.exchanges.append(Exchange("STARTTLS", "STARTTLS", sent, reply))
            facts.tls_error = f"the server answered STARTTLS with {exc.code}"
            if exc.code == 421 or not self.usable:
                self._end("421" if exc.code == 421 else "closed by server", facts.tls_error)
            elif required:
                await self.quit()
            return None
        except (SMTPException, OSError, asyncio.TimeoutError, ValueError) as exc:
            facts.tls_error = self._too_slow() if isinstance(exc, OutOfTime) else \
                f"TLS handshake failed: {visible(str(exc), 200)}"
            self._fail("STARTTLS", "STARTTLS", sent, exc, what=facts.tls_error, ended="tls failed")
            return None
        facts.exchanges.append(Exchange("STARTTLS", "STARTTLS", sent,
                                        Reply.parse(response.code, response.message, self.clock())))
        ssl_object = smtp.get_transport_info("ssl_object") if self.usable else None
        if ssl_object is None:  # the server hung up right after the handshake
            self._end("closed by server", "the connection ended right after the TLS handshake")
            return None
        facts.tls = tls_facts(ssl_object, facts.host)
        self.recorder.info(describe(facts.tls), encrypted=True,
                           note="from here on, everything is encrypted")
        facts.extensions_before_tls, facts.extensions = facts.extensions, {}
        await self.ehlo()
        return facts.tls

    async def command(self, verb: str, argument: str = "") -> Reply | None:
        """MAIL, RCPT, RSET, NOOP or VRFY with a raw argument (e.g. ``"FROM:<a@example.org>"``)."""
        return await self.run(Command(verb, argument))

    async def send_test_message(self, message: bytes) -> Reply | None:
        """DATA, the message and the final dot; refused unless the session allows a test message.

        The exchange's reply is the answer to the message (after the dot), or the refusal of DATA.
        """
        if not self.allow_data:
            raise ValueError("this session was not opened with allow_data=True: DATA is never sent")
        if not self._rcpt_accepted:
            self._skip("DATA", "no recipient was accepted")
            return None
        smtp = self._smtp
        if smtp is None or not self.usable:
            return None
        sent, before = self.clock(), len(self.recorder.lines)
        try:
            response = await self._guard(smtp.data(message, timeout=self.timeout), phases=2)
            reply = Reply.parse(response.code, response.message, self.clock())
        except SMTPResponseException as exc:
            if exc.code < 0:
                self._fail("DATA", "DATA", sent, exc)
                return None
            reply = Reply.parse(exc.code, exc.message, self.clock())
        except (SMTPException, OSError, asyncio.TimeoutError, ValueError) as exc:
            self._fail("DATA", "DATA", sent, exc)
            return None
        with_message = any(line.text.startswith("<message") for line in self.recorder.lines[before:])
        command = "DATA + message" if with_message else "DATA"
        self.facts.exchanges.append(Exchange("DATA", command, sent, reply))
        self._mail_accepted = self._rcpt_accepted = False
        if reply.code == 421 or not self.usable:
            self._end("421" if reply.code == 421 else "closed by server")
        return reply

    async def quit(self) -> Reply | None:
        """QUIT and close the connection."""
        if not self.usable:
            return None
        reply = await self._exchange("QUIT")
        self._end("quit")
        return reply

    async def close(self) -> None:
        """End the session: QUIT if it is still open, then close the connection."""
        if self.usable:
            await self.quit()
        self._notice_cut()
        self._end(self.facts.ended if self.facts.ended != "open" else "closed")
        await asyncio.sleep(0)  # let the transport report its end into the transcript
        self.facts.elapsed_ms = self.clock() - self._started

    # -- internals ----------------------------------------------------------------------------

    async def _guard(self, awaitable: Awaitable[_T], phases: int = 1) -> _T:
        """Wait for ``awaitable`` within what is left of the conversation's budget.

        aiosmtplib times every wait itself (each reply at most ``timeout``); the outer limit of
        a timeout per phase and a second proves nothing can hang. The budget is the limit for
        the conversation as a whole: when less of it is left than a wait could take, the wait
        gets only what is left, and :class:`OutOfTime` says the budget, not the reply, ran out.
        """
        limit = self.timeout * phases + 1.0
        if self._deadline is None:
            return await asyncio.wait_for(awaitable, limit)
        left = self._deadline - time.monotonic()
        if left <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise OutOfTime()
        try:
            return await asyncio.wait_for(awaitable, min(limit, left))
        except asyncio.TimeoutError as exc:
            if isinstance(exc, SMTPException) or left >= limit:
                raise  # aiosmtplib's own limit for this reply, or the outer one: a plain timeout
            raise OutOfTime() from None

    def _too_slow(self) -> str:
        """What a conversation cut off by its budget says (names the server and the conversation)."""
        facts = self.facts
        where = facts.host if facts.host == facts.ip else f"{facts.host} [{facts.ip}]"
        return (f"{where} answered slowly but within each reply's time limit: {self.purpose} "
                f"took longer than {self.budget or 0:g} s and was cut off")

    def _notice_cut(self) -> bool:
        """True when the protocol cut the session off for sending too many lines; the session
        then ends as a protocol error that says so (once)."""
        cut = self.recorder.cut
        if cut is None:
            return False
        if self.facts.ended == "open":
            self.recorder.error(cut, note=_FAILURE_NOTES["too many lines"])
            self._end("too many lines", cut)
        return True

    async def _exchange(self, verb: str, argument: str = "") -> Reply | None:
        smtp = self._smtp
        if smtp is None or not self.usable:
            self._notice_cut()
            return None
        line = f"{verb} {argument}" if argument else verb
        sent = self.clock()
        args = [verb.encode()] + ([argument.encode("utf-8", "surrogateescape")] if argument else [])
        try:
            response = await self._guard(smtp.execute_command(*args, timeout=self.timeout))
        except (SMTPException, OSError, asyncio.TimeoutError, ValueError) as exc:
            self._fail(verb, line, sent, exc)
            return None
        reply = Reply.parse(response.code, response.message, self.clock())
        self.facts.exchanges.append(Exchange(verb, line, sent, reply))
        if reply.code == 421:  # aiosmtplib has closed the connection already
            self._end("421", f"the server closed the session after {verb} with 421")
        elif not self.usable and verb != "QUIT":
            self._end("closed by server")
        return reply

    def _fail(self, verb: str, line: str, sent: float, exc: BaseException, *,
              what: str | None = None, ended: str | None = None) -> None:
        self.recorder.flush()
        if self.recorder.cut is not None:
            what, ended = self.recorder.cut, "too many lines"
        elif isinstance(exc, OutOfTime):
            what, ended = self._too_slow(), "too slow"
        elif isinstance(exc, (SMTPTimeoutError, asyncio.TimeoutError)):
            what = what or f"no complete reply to {verb} within {self.timeout:g} s"
            ended = ended or "timeout"
        elif isinstance(exc, SMTPServerDisconnected):
            what = what or f"the connection ended while we waited for the reply to {verb}"
            ended = ended or "closed by server"
        elif isinstance(exc, SMTPResponseException):
            what = what or f"the reply to {verb} is not valid SMTP"
            ended = ended or "protocol error"
        else:
            what = what or f"{verb} failed: {visible(str(exc) or type(exc).__name__, 200)}"
            ended = ended or "error"
        self.recorder.error(what, note=_FAILURE_NOTES.get(ended, ""))
        self.facts.exchanges.append(Exchange(verb, line, sent, None, what))
        self._end(ended, what)

    def _skip(self, line: str, reason: str) -> None:
        self.recorder.info(f"not sent: {line} ({reason})", note="a real client would not send this either")
        self.facts.exchanges.append(Exchange(line.split(" ", 1)[0], line, self.clock(), None,
                                             f"skipped: {reason}"))

    def _end(self, ended: str, error: str | None = None) -> None:
        if self.facts.ended == "open":
            self.facts.ended = ended
        if error is not None and self.facts.error is None and ended != "quit":
            self.facts.error = error
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


_CONNECT_NOTES = {
    ConnectOutcome.REFUSED: "a host answered, but nothing accepts connections on this port",
    ConnectOutcome.TIMEOUT: "no answer at all: a firewall drops us, or the host is down",
    ConnectOutcome.UNREACHABLE: "no route to this address from here",
    ConnectOutcome.NO_GREETING: "connected, but no complete greeting came in time",
    ConnectOutcome.CLOSED: "the server hung up without a word",
    ConnectOutcome.BAD_GREETING: "whatever listens here does not speak SMTP properly",
    ConnectOutcome.ERROR: "the connection could not be attempted",
    ConnectOutcome.GREETED: "",
}
_FAILURE_NOTES = {
    "timeout": "the server is too slow or stuck; we gave up waiting",
    "closed by server": "the server hung up in the middle of the conversation",
    "protocol error": "the server's answer breaks the SMTP rules",
    "tls failed": "encryption could not be set up; this connection is unusable",
    "too slow": "every reply came in time, but all of them together took too long; we stopped",
    "too many lines": "no real server sends this much; we stopped listening and hung up",
}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def smtp_session(
    host: str,
    ip: str,
    port: int,
    *,
    helo: str,
    steps: Sequence[Command],
    timeout: float,
    on_line: Callable[[TranscriptLine], None],
    clock: Callable[[], float] | None = None,
    source_ip: str | None = None,
    tls_context: ssl.SSLContext | None = None,
    allow_data: bool = False,
    slow_greeting_ms: float | None = None,
    budget: float | None = None,
    purpose: str = "the conversation",
) -> SessionFacts:
    """Talk to ``ip``:``port`` (the MX ``host``) and run ``steps``; never raises for network trouble.

    ``timeout`` bounds the TCP connect, each reply and the TLS handshake; ``budget`` (default
    :data:`SESSION_TIMEOUTS` × ``timeout``) the whole session, which ``purpose`` names when it is
    cut off. ``clock`` gives the milliseconds stamped on lines (default: since this session
    started). ``on_line`` gets each transcript line, annotated, as it happens. A session still
    open after the last step is closed with QUIT. RCPT steps are skipped while no MAIL FROM is
    accepted, DATA while no RCPT is.
    """
    conversation = SmtpConversation(
        host, ip, port, helo=helo, timeout=timeout, on_line=on_line, clock=clock,
        source_ip=source_ip, tls_context=tls_context, allow_data=allow_data,
        slow_greeting_ms=slow_greeting_ms,
        budget=SESSION_TIMEOUTS * timeout if budget is None else budget, purpose=purpose,
    )
    if await conversation.open():
        for step in steps:
            if not conversation.usable:
                break
            await conversation.run(step)
    await conversation.close()
    return conversation.facts
