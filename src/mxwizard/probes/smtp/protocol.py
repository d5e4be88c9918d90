"""The recording SMTP protocol: every byte to and from the server, as transcript lines, with time.

aiosmtplib has no transcript hook, but everything it sends goes through ``SMTPProtocol.write`` and
everything it receives (after STARTTLS too, already decrypted) through
``SMTPProtocol.data_received``. :class:`RecordingProtocol` sits there and hands each line to a
:class:`SessionRecorder`: the clock, the caller's ``on_line`` sink and the annotator.

It also does what aiosmtplib cannot: it watches the rhythm of the conversation. Without pipelining
a server owes exactly one reply per command. Lines that arrive while no command is waiting
(unsolicited data), a second reply in the same segment as the expected one (replies out of step:
a real client would pair every later reply with the wrong command), a greeting or reply line that
is not ``NNN text``, plaintext after the 220 to STARTTLS (the sign of an injection attack) and a
line cut off by the end of the connection are all recorded as :class:`Anomaly` facts. Surplus
lines are recorded but never handed to aiosmtplib's parser, so its pairing of replies to commands
stays right for the rest of the session.

Memory is bounded per session, whatever the server sends: a line keeps at most
:data:`MAX_LINE_BYTES`, one reply at most :data:`MAX_REPLY_LINES` lines, and the whole session at
most :data:`MAX_SESSION_LINES` lines from the server, replies and surplus lines alike. A server
that goes past the session's cap is cut off there: the connection is dropped, the lines that were
still arriving are counted, not kept (a marker line says how many), and
:attr:`SessionRecorder.cut` says why, for the session to end as a protocol error.

The protocol is swapped into aiosmtplib in exactly one place, :func:`_install` at the bottom of
this module. A connection made without a recorder in :data:`_recorder_for_next_connection`
behaves exactly like aiosmtplib's own protocol.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import aiosmtplib.smtp
from aiosmtplib.errors import SMTPResponseException
from aiosmtplib.protocol import SMTPProtocol

from mxwizard.core.transcript import Annotator, Direction, TranscriptLine
from mxwizard.knowledge.smtp_commands import ANOMALIES

#: A reply line: three digits, then a space, a hyphen (more lines follow) or the end of the line.
_REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -]|\r?\n|$)")
#: Longest line kept whole; longer lines are cut, recorded and the rest of them dropped.
MAX_LINE_BYTES = 4096
#: Shown instead of what follows ``AUTH <mechanism>`` and instead of answers to 334 challenges.
REDACTED = "<redacted>"
#: Most lines one reply may have (real EHLO replies have a dozen or two). A longer reply is cut
#: and failed: it is hostile, and it would otherwise fill the transcript without end.
MAX_REPLY_LINES = 200
#: Most lines the server may send in one whole session, replies and surplus lines alike. A receive
#: visit has a few dozen, the relay test about fifty; a server that sends more (a flood of extra
#: lines after every reply) is cut off, so a session's transcript, anomalies and report stay
#: small: at most this many lines of at most MAX_LINE_BYTES each.
MAX_SESSION_LINES = 400
#: Characters no SMTP reply text may carry (RFC 5321 4.2: printable ASCII and TAB): C0 controls,
#: DEL, C1 controls, and bytes that were not UTF-8 (kept as lone surrogates by the decoder).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\udc80-\udcff]")


class AnomalyKind(str, Enum):
    """The ways a server can break the rhythm of SMTP; each is a sign of a broken or hostile server."""

    UNSOLICITED = "unsolicited"  # a line while no command was waiting for a reply
    OUT_OF_STEP = "out-of-step"  # an extra reply in the same segment as the expected one
    NOT_A_REPLY = "not-a-reply"  # a line that does not start with a three-digit code
    BANNER_NOT_A_REPLY = "banner-not-a-reply"  # the greeting is not an SMTP reply at all
    MIXED_CODES = "mixed-codes"  # the lines of one multi-line reply carry different codes
    STARTTLS_INJECTION = "starttls-injection"  # plaintext after the 220 to STARTTLS
    LINE_TOO_LONG = "line-too-long"  # a line longer than any real server sends
    INCOMPLETE_LINE = "incomplete-line"  # the connection ended or timed out in the middle of a line
    UNPRINTABLE = "unprintable"  # control characters or bytes that are not text in a reply line
    REPLY_TOO_LONG = "reply-too-long"  # more lines in one reply than any real server sends
    TOO_MANY_LINES = "too-many-lines"  # more lines in one session than any real server sends


@dataclass(frozen=True)
class Anomaly:
    """One sign of a broken or hostile server, with the raw line that shows it.

    ``detail`` is our own wording and safe to show; ``line`` came from the network and must be
    sanitised (:func:`mxwizard.core.untrusted.visible`) before it is shown.
    """

    kind: AnomalyKind
    t_ms: float
    detail: str
    line: str


#: Notes for the kinds that ``knowledge.smtp_commands.ANOMALIES`` does not describe (yet).
_MORE_ANOMALY_NOTES = {
    "unprintable": "control characters or bytes that are not text: shown escaped",
    "reply-too-long": "reply cut: far more lines than any real server sends",
    "too-many-lines": "session cut: far more lines than any real server sends",
}
_ANOMALY_NOTES = {kind: ANOMALIES[kind.value][0] if kind.value in ANOMALIES
                  else _MORE_ANOMALY_NOTES[kind.value] for kind in AnomalyKind}


def _looks_like(raw: bytes) -> str:
    """Name the kind of server behind a greeting that is not SMTP, when it is recognisable."""
    if raw.startswith(b"SSH-"):
        return " (this looks like an SSH server)"
    if raw.startswith((b"HTTP/", b"<")):
        return " (this looks like a web server)"
    if raw.startswith((b"+OK", b"* OK")):
        return " (this looks like a POP3 or IMAP server)"
    return ""


class SessionRecorder:
    """Collects one session's transcript lines and anomalies and passes each line on as it happens.

    ``clock`` gives milliseconds (the caller's timeline, e.g. since the diagnosis started);
    ``on_line`` receives every line, already annotated, the moment it is recorded.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        on_line: Callable[[TranscriptLine], None],
        annotator: Annotator | None = None,
    ) -> None:
        self.clock = clock
        self.on_line = on_line
        self.annotator = annotator if annotator is not None else Annotator()
        #: Every line of the session in order.
        self.lines: list[TranscriptLine] = []
        #: Every protocol anomaly noticed, in order.
        self.anomalies: list[Anomaly] = []
        #: When the TCP connection came up (``None`` until it does).
        self.connected_at: float | None = None
        #: The protocol recording into this recorder, once the connection is being made.
        self.protocol: RecordingProtocol | None = None
        #: Why the protocol cut the session off (our own words, safe to show), once it has:
        #: the server sent more than MAX_SESSION_LINES lines.
        self.cut: str | None = None

    def record(
        self, direction: Direction, text: str, *, encrypted: bool = False, note: str | None = None
    ) -> TranscriptLine:
        """Record one line now; ``note`` replaces the annotator's note when given."""
        line = TranscriptLine(self.clock(), direction, text, encrypted=encrypted)
        annotated = self.annotator.note(line)
        line.note = note if note is not None else annotated
        self.lines.append(line)
        self.on_line(line)
        return line

    def info(self, text: str, *, encrypted: bool = False, note: str | None = None) -> TranscriptLine:
        """Record a remark of the probe's own (connecting, TLS established, ...)."""
        return self.record(Direction.INFO, text, encrypted=encrypted, note=note)

    def error(self, text: str, *, encrypted: bool = False, note: str | None = None) -> TranscriptLine:
        """Record something that went wrong (refused, timed out, connection lost)."""
        return self.record(Direction.ERROR, text, encrypted=encrypted, note=note)

    def flush(self) -> None:
        """Record whatever the server sent of a line it never finished (before an error line)."""
        if self.protocol is not None:
            self.protocol.flush_partial()

    def anomaly(self, kind: AnomalyKind, line: str, detail: str = "") -> None:
        """Remember a sign of a broken or hostile server."""
        self.anomalies.append(Anomaly(kind, self.clock(), detail or _ANOMALY_NOTES[kind], line))


#: The recorder for the connection the current task is about to make (see module docstring).
_recorder_for_next_connection: contextvars.ContextVar[SessionRecorder | None] = contextvars.ContextVar(
    "mxwizard_smtp_recorder", default=None
)


def recording_into(recorder: SessionRecorder) -> contextvars.Token[SessionRecorder | None]:
    """Make the next aiosmtplib connection of this task record into ``recorder``.

    Returns the token to pass to :func:`stop_recording_into` once the connection is made.
    """
    return _recorder_for_next_connection.set(recorder)


def stop_recording_into(token: contextvars.Token[SessionRecorder | None]) -> None:
    """Undo :func:`recording_into`; the connection already made keeps its recorder."""
    _recorder_for_next_connection.reset(token)


class RecordingProtocol(SMTPProtocol):
    """aiosmtplib's protocol plus a recorder that sees every line and the rhythm of the replies."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        connection_lost_callback: Callable[[SMTPProtocol], None] | None = None,
    ) -> None:
        super().__init__(loop=loop, connection_lost_callback=connection_lost_callback)
        self.recorder = _recorder_for_next_connection.get()
        if self.recorder is not None:
            self.recorder.protocol = self
        self._partial = bytearray()  # an incoming line still waiting for its line ending
        self._dropping_long_line = False
        self._reply_lines: list[bytes] = []  # lines of the reply being received, not yet parsed
        self._dropping_reply = False  # a reply cut for being too long: ignore the rest of it
        self._awaiting_reply = False  # a command (or the greeting) is owed exactly one reply
        self._greeting_due = False
        self._reply_code: bytes | None = None  # code of the reply being received, line by line
        self._reply_done_in_segment = False
        self._last_verb = ""
        self._last_code = b""
        self._message_next = False  # DATA got 354: the next write is the message itself
        self._server_lines = 0  # lines from the server recorded so far (MAX_SESSION_LINES)
        self._unrecorded = 0  # lines that arrived after the session's cap, counted only
        self._marked = False  # the marker line for the unrecorded lines is written

    # -- what we send -------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send ``data`` (aiosmtplib calls this) and record it line by line."""
        super().write(data)
        if self.recorder is None:
            return
        encrypted = self._over_ssl
        self._awaiting_reply = True
        self._reply_code = None
        self._reply_lines, self._dropping_reply = [], False
        if self._message_next:
            self._message_next = False
            self._last_verb = "<message>"
            lines = data.count(b"\r\n") - 1
            self.recorder.record(
                Direction.CLIENT, f"<message: {lines} lines, {len(data) - 3} bytes>", encrypted=encrypted
            )
            self.recorder.record(Direction.CLIENT, ".", encrypted=encrypted)
            return
        for raw in data.split(b"\r\n"):
            if raw:
                self._record_command(raw.decode("utf-8", "surrogateescape"), encrypted)

    def _record_command(self, text: str, encrypted: bool) -> None:
        assert self.recorder is not None
        verb = text.split(" ", 1)[0].upper()
        if self._last_verb in {"AUTH", "<auth-answer>"} and self._last_code == b"334":
            # An answer to an AUTH challenge is a credential: never record it.
            text, verb = REDACTED, "<auth-answer>"
        elif verb == "AUTH":
            parts = text.split(" ")
            text = " ".join(parts[:2] + ([REDACTED] if len(parts) > 2 else []))
        self._last_verb = verb
        self.recorder.record(Direction.CLIENT, text, encrypted=encrypted)

    # -- what we receive ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The TCP connection is up: the server owes us its greeting."""
        super().connection_made(transport)
        self._awaiting_reply = True
        self._greeting_due = True
        if self.recorder is not None:
            self.recorder.connected_at = self.recorder.clock()
            local = transport.get_extra_info("sockname")
            where = f" from {local[0]}:{local[1]}" if isinstance(local, tuple) else ""
            self.recorder.info(f"connected{where}", note="the TCP connection is up; the server speaks first")

    def data_received(self, data: bytes) -> None:
        """Split what arrived into lines, record them, and feed only the expected reply onwards."""
        if self.recorder is None:
            super().data_received(data)
            return
        self._reply_done_in_segment = False
        self._partial.extend(data)
        while True:
            end = self._partial.find(b"\n")
            if end == -1:
                break
            raw = bytes(self._partial[: end + 1])
            del self._partial[: end + 1]
            if self._dropping_long_line:  # the end of a line already cut and reported
                self._dropping_long_line = False
            elif len(raw) > MAX_LINE_BYTES:
                self._take_over_long_line(raw)
            else:
                self._take_line(raw)
        if len(self._partial) > MAX_LINE_BYTES:
            if not self._dropping_long_line:
                self._take_over_long_line(bytes(self._partial))
                self._dropping_long_line = True
            del self._partial[:]
        if self._unrecorded:
            if self._partial:  # the start of one more line: counted with the rest
                self._unrecorded += 1
                del self._partial[:]
            self._mark_unrecorded()

    def _admit(self, text: str) -> bool:
        """Count one line from the server against the session's cap; False when it must not be
        recorded, because the session went past :data:`MAX_SESSION_LINES` (and is cut off)."""
        if self._unrecorded or self._server_lines >= MAX_SESSION_LINES:
            if not self._unrecorded:
                self._cut_session(text)
            self._unrecorded += 1
            return False
        self._server_lines += 1
        return True

    def _cut_session(self, text: str) -> None:
        """End a session that sent more lines than any real server: fail the reply we wait for
        and drop the connection, so nothing more arrives to be recorded."""
        assert self.recorder is not None
        self.recorder.cut = (f"the server sent more than {MAX_SESSION_LINES} lines in this "
                             "conversation, far more than any real server, and was cut off there")
        self.recorder.anomaly(AnomalyKind.TOO_MANY_LINES, text,
                              f"more than {MAX_SESSION_LINES} lines in one session (the rest was "
                              "not recorded, and the conversation was cut off)")
        self._reply_lines, self._awaiting_reply = [], False
        if self._response_waiter is not None and not self._response_waiter.done():
            self._set_response_exception(self._response_waiter,
                                         SMTPResponseException(-1, "Too many lines"))
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()  # at once: close() would first send what is still queued
        elif self.transport is not None:
            self.transport.close()

    def _mark_unrecorded(self) -> None:
        """Say in the transcript how many lines came after the cap (once: no more can come)."""
        assert self.recorder is not None
        if self._marked:
            return
        self._marked = True
        self.recorder.error(f"… {self._unrecorded} more lines from the server were not recorded",
                            encrypted=self._over_ssl, note=_ANOMALY_NOTES[AnomalyKind.TOO_MANY_LINES])

    def _take_over_long_line(self, raw: bytes) -> None:
        """Record the start of an endless line, report it, and fail the reply it belongs to."""
        assert self.recorder is not None
        text = raw[:MAX_LINE_BYTES].decode("utf-8", "surrogateescape")
        if not self._admit(text):
            return
        self.recorder.record(Direction.SERVER, text, encrypted=self._over_ssl,
                             note=_ANOMALY_NOTES[AnomalyKind.LINE_TOO_LONG])
        self.recorder.anomaly(AnomalyKind.LINE_TOO_LONG, text)
        if self._awaiting_reply and self._response_waiter is not None and not self._response_waiter.done():
            self._awaiting_reply = False
            self._set_response_exception(
                self._response_waiter, SMTPResponseException(-1, "Reply line too long")
            )

    def _take_line(self, raw: bytes) -> None:
        assert self.recorder is not None
        if self._dropping_reply:
            return
        text = raw.rstrip(b"\n").removesuffix(b"\r").decode("utf-8", "surrogateescape")
        if not self._admit(text):
            return
        match = _REPLY_LINE.match(raw)
        if not self._awaiting_reply:
            self._take_surplus_line(raw, text, match)
            return
        kind: AnomalyKind | None = None
        detail = ""
        if match is None:
            kind = AnomalyKind.BANNER_NOT_A_REPLY if self._greeting_due else AnomalyKind.NOT_A_REPLY
            detail = _ANOMALY_NOTES[kind] + (_looks_like(raw) if self._greeting_due else "")
        elif self._reply_code is not None and match.group(1) != self._reply_code:
            kind = AnomalyKind.MIXED_CODES
        elif _UNPRINTABLE.search(text):
            kind = AnomalyKind.UNPRINTABLE
        self.recorder.record(
            Direction.SERVER, text, encrypted=self._over_ssl,
            note=None if kind is None else _ANOMALY_NOTES[kind],
        )
        if kind is not None:
            self.recorder.anomaly(kind, text, detail)
        final = match is None or match.group(2) != b"-"
        if match is not None and self._reply_code is None:
            self._reply_code = match.group(1)
        # aiosmtplib re-parses its whole buffer on every call, so a reply is handed over in one
        # piece when it is complete: line by line, a long reply costs quadratic time.
        self._reply_lines.append(raw)
        if not final and len(self._reply_lines) >= MAX_REPLY_LINES:
            self._cut_reply(text)
            return
        if final:
            whole, self._reply_lines = b"".join(self._reply_lines), []
            super().data_received(whole)
            self._awaiting_reply = False
            self._greeting_due = False
            self._reply_done_in_segment = True
            self._last_code = match.group(1) if match is not None else b""
            self._message_next = self._last_verb == "DATA" and self._last_code == b"354"
            success = self._last_code[:1] in (b"2", b"3")
            if self._last_verb == "QUIT" and success and self._last_code != b"221":
                # QUIT is only ever answered 221: a success of another kind is the answer to an
                # earlier command, so an extra reply slipped in somewhere and shifted them all.
                self.recorder.anomaly(AnomalyKind.OUT_OF_STEP, text, (
                    f"QUIT was answered with {self._last_code.decode()} instead of 221: an extra reply "
                    "earlier on paired every later reply with the wrong command"))

    def _cut_reply(self, text: str) -> None:
        """Give up on a reply with more lines than any real server sends, and fail it."""
        assert self.recorder is not None
        self._reply_lines, self._dropping_reply, self._awaiting_reply = [], True, False
        self.recorder.anomaly(AnomalyKind.REPLY_TOO_LONG, text,
                              f"a reply of more than {MAX_REPLY_LINES} lines (the rest was not read)")
        if self._response_waiter is not None and not self._response_waiter.done():
            self._set_response_exception(self._response_waiter, SMTPResponseException(-1, "Reply too long"))

    def _take_surplus_line(self, raw: bytes, text: str, match: re.Match[bytes] | None) -> None:
        assert self.recorder is not None
        if self._last_verb == "STARTTLS" and self._last_code == b"220" and not self._over_ssl:
            kind = AnomalyKind.STARTTLS_INJECTION
        elif self._reply_done_in_segment and match is not None:
            kind = AnomalyKind.OUT_OF_STEP
        else:
            kind = AnomalyKind.UNSOLICITED
        self.recorder.record(Direction.SERVER, text, encrypted=self._over_ssl, note=_ANOMALY_NOTES[kind])
        self.recorder.anomaly(kind, text)

    def flush_partial(self) -> None:
        """Record a line the server started but never ended (timeout or connection end)."""
        if self.recorder is None or not self._partial:
            return
        text = bytes(self._partial).decode("utf-8", "surrogateescape")
        del self._partial[:]
        if not self._admit(text):
            self._mark_unrecorded()
            return
        self.recorder.record(Direction.SERVER, text, encrypted=self._over_ssl,
                             note=_ANOMALY_NOTES[AnomalyKind.INCOMPLETE_LINE])
        self.recorder.anomaly(AnomalyKind.INCOMPLETE_LINE, text)

    def eof_received(self) -> bool:
        """The server closed its side of the connection."""
        if self.recorder is not None:
            self.flush_partial()
            if self._quit_sent or self._last_code == b"421":
                self.recorder.info("the server closed the connection", encrypted=self._over_ssl,
                                   note="as it said it would" if not self._quit_sent
                                   else "as it should after QUIT")
            else:
                self.recorder.error("the server closed the connection", encrypted=self._over_ssl,
                                    note="the server hung up without being asked to")
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone (closed by either side, or reset)."""
        if self.recorder is not None:
            self.flush_partial()
            # A failed TLS handshake is reported by the session, with its consequences.
            if exc is not None and not isinstance(exc, ssl.SSLError):
                self.recorder.error(f"connection lost: {exc or type(exc).__name__}",
                                    note="the connection broke (reset, or a network failure)")
        super().connection_lost(exc)


def _install() -> None:
    """THE one place where aiosmtplib is told to build our protocol instead of its own.

    ``aiosmtplib.SMTP._create_connection`` (a private method) constructs ``SMTPProtocol`` by the
    name it finds in the ``aiosmtplib.smtp`` module, so that name is rebound here, once, when this
    module is first imported. Connections made without a recorder behave exactly as before.
    """
    aiosmtplib.smtp.SMTPProtocol = RecordingProtocol  # type: ignore[attr-defined]


_install()
