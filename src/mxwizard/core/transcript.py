"""The SMTP transcript: every line of a conversation, who sent it, when, and what it means.

This module is pure: the SMTP probe fills a :class:`Transcript` as bytes cross the wire, the
:class:`Annotator` gives each line its short note (what a command asks, what an EHLO extension
means, what a reply says, a big provider's wording recognised, a slow greeting), and
:func:`explain_line` gives the longer explanation on demand, including what the receiving server
checks at that point. Reply meanings come from :mod:`mxwizard.knowledge.replies`, command and
extension texts from :mod:`mxwizard.knowledge.smtp_commands`. Lines keep the raw text; sanitising
happens where text is shown (:meth:`Transcript.render`, :meth:`TranscriptLine.to_json`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from enum import Enum

from mxwizard.core.untrusted import visible
from mxwizard.knowledge.replies import meaning, parse_reply
from mxwizard.knowledge.smtp_commands import (
    ANOMALIES,
    COMMANDS,
    CONNECT_CHECKS,
    END_OF_MESSAGE_NOTE,
    EXTENSIONS,
    GREET_PAUSE_EXPLANATION,
    GREETING_EXPLANATION,
    MESSAGE_NOTE,
    REDACTED_NOTE,
    command_note,
    extension_note,
)


class Direction(str, Enum):
    """Who produced a transcript line."""

    CLIENT = "C"  # we (the sending side) wrote it
    SERVER = "S"  # the server wrote it
    INFO = "info"  # the probe's own remark: connecting, TLS established, ...
    ERROR = "error"  # something went wrong: refused, timed out, garbage

    @property
    def arrow(self) -> str:
        """The marker used in text renderings: ``->`` for what we send, ``<-`` for replies."""
        return {"C": "->", "S": "<-", "info": "**", "error": "!!"}[self.value]


@dataclass
class TranscriptLine:
    """One line of the conversation."""

    t_ms: float
    dir: Direction
    text: str
    note: str = ""
    #: True for lines that crossed the wire inside TLS (after STARTTLS).
    encrypted: bool = False

    def to_json(self) -> dict[str, object]:
        """The line as in the JSON report (DESIGN.md §2); the text is sanitised there."""
        return {
            "t_ms": round(self.t_ms, 1),
            "dir": self.dir.value,
            "text": visible(self.text),
            "note": visible(self.note, 200),
            **({"encrypted": True} if self.encrypted else {}),
        }


@dataclass
class Transcript:
    """One SMTP session with one server (one IP address and port)."""

    host: str
    ip: str
    port: int
    lines: list[TranscriptLine] = field(default_factory=list)

    def add(self, line: TranscriptLine) -> None:
        """Append a line (the probe calls this as the conversation happens)."""
        self.lines.append(line)

    @property
    def waiting(self) -> bool:
        """Whether the session is waiting for the server right now: the last line is a command
        we sent, or the connection being opened (the greeting is due). The wizard shows such a
        wait with its time limit, so that a silent server is not a mystery."""
        if not self.lines:
            return False
        last = self.lines[-1]
        return last.dir is Direction.CLIENT or (
            last.dir is Direction.INFO and last.text.startswith(("connecting to", "connected from")))

    def to_json(self) -> dict[str, object]:
        """The session as in the JSON report."""
        return {
            "host": self.host,
            "ip": self.ip,
            "port": self.port,
            "lines": [line.to_json() for line in self.lines],
        }

    def render(self, width: int = 100) -> str:
        """A plain-text rendering for terminals and forum posts: arrows, elapsed ms, notes.

        Times count from the session's first line; ``->`` is what we sent, ``<-`` what the server
        sent, ``**`` our own remarks, ``!!`` errors; ``[tls]`` marks lines sent inside TLS. Every
        piece of text is sanitised, so the result is safe to print or paste.
        """
        start = self.lines[0].t_ms if self.lines else 0.0
        out = [self.heading()]
        for line in self.lines:
            out.extend(render_line(line, start, width))
        return "\n".join(out)

    def heading(self) -> str:
        """The heading of the session in text: host, address and port (sanitised)."""
        return (f"SMTP session with {visible(self.host, 200)} [{visible(self.ip, 60)}]:{self.port}"
                f" (ms since the session began)")


def endpoint(ip: str, port: int) -> str:
    """``ip:port``, with an IPv6 address in brackets (``[2001:db8::25]:25``), so that the port
    cannot be read as the last group of the address."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def render_line(line: TranscriptLine, start: float, width: int = 100) -> list[str]:
    """One line of a session as text rows: time since ``start``, arrow, text, then its note."""
    room = max(20, width - 14)
    text = ("[tls] " if line.encrypted else "") + visible(line.text)
    # wrapped between words where there are any; a word longer than a row is split
    pieces = textwrap.wrap(text, room, break_on_hyphens=False, drop_whitespace=False) or [""]
    out = [f"{line.t_ms - start:7.0f} ms {line.dir.arrow} {pieces[0]}"]
    out.extend(f"{'':14}{piece}" for piece in pieces[1:])
    for piece in textwrap.wrap(visible(line.note, 300), room - 2, break_on_hyphens=False):
        out.append(f"{'':14}# {piece}")
    return out


# -- the annotator -------------------------------------------------------------------------------

#: Longest note. Every view wraps notes (they are no longer cut to fit beside their line), so
#: this only bounds what an absurdly long reply can make of one; a cut falls between words.
NOTE_LIMIT = 160
#: A greeting later than this (ms after the session's first line) is noted as a possible greet pause.
SLOW_GREETING_MS = 5000.0


@dataclass(frozen=True)
class LineRole:
    """What one line is, in the flow of the conversation (the annotator's reading of it)."""

    #: command | greeting | reply | extension | continued | message | unexpected | not-reply
    #: | info | error
    kind: str
    #: The command the line is or answers ("EHLO", "MAIL", ...; "" for the greeting).
    verb: str = ""
    #: Reply code, for server lines.
    code: int | None = None
    #: The reply's text so far (all its lines), for server lines.
    reply_text: str = ""
    #: For EHLO extension lines: keyword and parameters.
    keyword: str = ""
    parameters: str = ""
    #: For the greeting: milliseconds since the session's first line.
    delay_ms: float | None = None


class Annotator:
    """Gives each line of one session its short note, remembering the flow line by line.

    Feed it the lines in order (live, as the probe records them, or afterwards for a replay);
    server lines are read in the light of the command they answer. Pure: no I/O, no clock.
    """

    def __init__(self, *, slow_greeting_ms: float = SLOW_GREETING_MS) -> None:
        self.slow_greeting_ms = slow_greeting_ms
        self._first_t: float | None = None
        self._greeted = False
        self._verb = ""  # the command whose reply is awaited ("" before the greeting)
        self._awaiting = True
        self._reply_lines: list[str] = []
        self._reply_note = ""  # the last distinct note given to a line of the current reply

    def role(self, line: TranscriptLine) -> LineRole:
        """Read one line (in order) and say what it is."""
        if self._first_t is None:
            self._first_t = line.t_ms
        if line.dir in (Direction.INFO, Direction.ERROR):
            return LineRole(line.dir.value)
        if line.dir is Direction.CLIENT:
            return self._client_role(line.text)
        return self._server_role(line)

    def note(self, line: TranscriptLine) -> str:
        """Read one line (in order) and return its short note ("" when it has none of its own)."""
        role = self.role(line)
        note = _note_for(role, line.text, self.slow_greeting_ms, self._reply_note)
        if role.kind in ("greeting", "reply", "continued") and note != "the reply goes on":
            self._reply_note = note
        return note

    def _client_role(self, text: str) -> LineRole:
        if text.startswith("<message"):
            return LineRole("message", "DATA")
        if text == ".":
            self._expect("<message>")
            return LineRole("message", ".")
        if text == "<redacted>":
            self._expect("AUTH")
            return LineRole("command", "<redacted>")
        verb = text.split(" ", 1)[0].upper()
        self._expect(verb)
        return LineRole("command", verb)

    def _expect(self, verb: str) -> None:
        self._verb, self._awaiting = verb, True
        self._reply_lines, self._reply_note = [], ""

    def _server_role(self, line: TranscriptLine) -> LineRole:
        parsed = parse_reply(line.text)
        if parsed is None:
            return LineRole("not-reply", self._verb)
        code, enhanced, text = parsed
        if not self._awaiting:
            return LineRole("unexpected", self._verb, code, text)
        first = not self._reply_lines
        self._reply_lines.append(" ".join(filter(None, (enhanced if first else None, text))))
        if line.text[3:4] != "-":
            self._awaiting = False
        reply_text = " ".join(self._reply_lines)
        if not self._greeted:
            if not self._awaiting:
                self._greeted = True
            delay = line.t_ms - (self._first_t or 0.0)
            return LineRole("greeting" if first else "continued", "", code, reply_text, delay_ms=delay)
        if self._verb == "EHLO" and not first and code == 250:
            keyword, _, parameters = text.partition(" ")
            return LineRole("extension", "EHLO", code, reply_text, keyword, parameters.strip())
        return LineRole("reply" if first else "continued", self._verb, code, reply_text)


def _short(text: str) -> str:
    if len(text) <= NOTE_LIMIT:
        return text
    cut = text[: NOTE_LIMIT - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


def _argument(text: str) -> str:
    """The part of a command line worth naming in a note: an address, a name, a mechanism."""
    rest = text.split(" ", 1)[1] if " " in text else ""
    if "<" in rest and ">" in rest:
        rest = rest[rest.index("<"): rest.index(">") + 1]
    return visible(rest, 32)


def _note_for(role: LineRole, text: str, slow_greeting_ms: float, previous: str = "") -> str:
    """The note for a line in ``role``; ``previous`` is the note of the reply's line before."""
    kind = role.kind
    if kind == "command":
        if role.verb == "<redacted>":
            return REDACTED_NOTE
        return _short(command_note(role.verb, _argument(text)))
    if kind == "message":
        return MESSAGE_NOTE if role.verb == "DATA" else END_OF_MESSAGE_NOTE
    if kind == "not-reply":
        return ANOMALIES["not-a-reply"][0]
    if kind == "unexpected":
        return "a reply nobody asked for: no command was waiting"
    if kind == "extension":
        return _short(extension_note(visible(role.keyword, 24), visible(role.parameters, 30)))
    if kind not in ("greeting", "reply", "continued") or role.code is None:
        return ""
    found = meaning(role.code, role.reply_text)
    if kind == "continued":
        return _short(found.note) if found.provider and found.note != previous else "the reply goes on"
    if kind == "greeting":
        if role.delay_ms is not None and role.delay_ms > slow_greeting_ms and role.code == 220:
            return _short(f"greeting after {role.delay_ms / 1000:.1f} s: perhaps a deliberate greet pause")
        return "greeting: the server is ready" if role.code == 220 else _short(f"greeting: {found.note}")
    info = COMMANDS.get(role.verb)
    if info is not None and 200 <= role.code < 400:
        return _short(f"{found.provider}: {info.accepted}" if found.provider else info.accepted)
    return _short(found.note)


def annotate(line: TranscriptLine, annotator: Annotator) -> TranscriptLine:
    """Give ``line`` its note (lines in order, one annotator per session); returns the line.

    Lines the annotator has nothing to say about (the probe's own remarks) keep their note.
    """
    note = annotator.note(line)
    if note:
        line.note = note
    return line


def annotate_session(transcript: Transcript, *, slow_greeting_ms: float = SLOW_GREETING_MS) -> Transcript:
    """Annotate every line of a recorded session in place (e.g. a transcript loaded from JSON)."""
    annotator = Annotator(slow_greeting_ms=slow_greeting_ms)
    for line in transcript.lines:
        annotate(line, annotator)
    return transcript


def explain_line(transcript: Transcript, index: int, *, slow_greeting_ms: float = SLOW_GREETING_MS) -> str:
    """A few plain paragraphs about line ``index``: what it asks or answers, what is checked now."""
    annotator = Annotator(slow_greeting_ms=slow_greeting_ms)
    role = LineRole("info")
    for line in transcript.lines[: index + 1]:
        role = annotator.role(line)
    line = transcript.lines[index]
    parts: list[str] = []
    anomaly = next((text for note, text in ANOMALIES.values() if line.note == note), None)
    if anomaly:
        parts.append(anomaly)
    if role.kind == "command":
        info = COMMANDS.get(role.verb)
        if role.verb == "<redacted>":
            parts.append("This was an answer to a login challenge. Credentials are never recorded.")
        elif info is None:
            parts.append("This tool has no explanation for this command.")
        else:
            parts.append(info.explanation)
            if info.checks:
                parts.append(f"What the receiving server checks at this point: {info.checks}")
    elif role.kind == "message":
        parts.append(COMMANDS["DATA"].explanation)
    elif role.kind == "extension":
        known = EXTENSIONS.get(role.keyword.upper())
        parts.append(known.explanation if known else
                     f"{visible(role.keyword, 40)} is an extension this tool does not know; "
                     "names starting with X are usually one vendor's private additions.")
    elif role.kind in ("greeting", "reply", "continued") and role.code is not None:
        found = meaning(role.code, role.reply_text)
        if role.kind != "reply" and role.verb == "":
            parts.append(GREETING_EXPLANATION)
            if role.delay_ms is not None and role.delay_ms > slow_greeting_ms:
                parts.append(GREET_PAUSE_EXPLANATION)
            parts.append(f"What the receiving server checks at this point: {CONNECT_CHECKS}")
        elif role.verb in COMMANDS:
            parts.append(f"This answers our {role.verb} command.")
        parts.append(found.explanation)
    elif not anomaly:
        parts.append(line.note or "A remark of the probe's own.")
    return "\n\n".join(parts)
