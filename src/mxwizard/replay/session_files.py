"""Saved sessions: the SMTP conversations and DNS lookups of one check, kept in a file to replay.

A session file is the JSON report of DESIGN.md §2, or any subset of it that keeps
``transcripts`` and/or ``dns``. So the output of ``mxwizard check ... --format json`` against a
real server is a session file as it stands, and a file saved from the lessons is a valid report.

Session files come from anywhere (a colleague, a forum post, an attacker), so :func:`load_session`
checks every field and answers a bad file with one :class:`SessionError` line, never a traceback.
The text in them is kept as it was and made visible only where it is shown. :func:`timeline` and
:func:`play` give the recorded pace of a session for ``mxwizard replay``; the TUI's timed
playback uses the same :func:`timeline` and :func:`real_pause`. Headless: no Textual here.

Everything here is linear in the size of the file, because a hostile file is as large as the
limits allow: the size is checked before a byte is parsed, each multi-line reply is read once
(:func:`annotate_recorded`), and no single pause of a replay lasts more than
:data:`MAX_REAL_PAUSE_S` seconds, whatever the speed. Files are written with :func:`write_new_file`,
which never follows a symbolic link and never replaces a file unless asked to.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mxwizard import __version__
from mxwizard.core.schema import SCHEMA_VERSION
from mxwizard.core.transcript import (
    Annotator,
    Direction,
    Transcript,
    TranscriptLine,
    annotate,
    render_line,
)
from mxwizard.core.untrusted import visible
from mxwizard.knowledge.replies import meaning, parse_reply
from mxwizard.knowledge.smtp_commands import extension_note
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.render.dnsview import render_lookup

#: Files larger than this are refused before they are parsed (a real check's report is well under
#: a megabyte; the limit also bounds the work a hostile file can cause).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: The most SMTP sessions, lines in all and DNS lookups a session file may hold.
MAX_TRANSCRIPTS = 1000
MAX_LINES = 200_000
MAX_LOOKUPS = 20_000
#: The longest string field accepted (a recorded line is cut far below this).
MAX_TEXT = 100_000
#: No recorded time may lie further than a day after the start of the check.
MAX_T_MS = 86_400_000.0
#: The longest pause a replay keeps between two lines, in recorded milliseconds: a session that
#: waited minutes for a slow server would otherwise bore the class.
MAX_PAUSE_MS = 60_000.0
#: The speeds a replay accepts besides 0 (no pauses): slower than a tenth of the recorded pace
#: turns seconds into minutes, faster than a hundred times is "no pauses" in all but name.
MIN_SPEED = 0.1
MAX_SPEED = 100.0
#: The longest a replay ever waits between two lines, in real seconds, at any speed: a class
#: watching a slow session at 0.1x should not stare at a frozen screen.
MAX_REAL_PAUSE_S = 5.0
#: The note of the lines inside a long reply (see :func:`annotate_recorded`).
REPLY_GOES_ON = "the reply goes on"
#: How much of one line the annotator reads in a replay: twice the 512 octets RFC 5321 allows a
#: reply line (4.5.3.1.5), so every line a real server sends is read in full.
ANNOTATED_CHARS = 1024

#: Called while a file loads with the fraction done (0.0 to 1.0); it may raise to abandon the load.
Progress = Callable[[float], None]


class SessionError(ValueError):
    """A session file that cannot be used; ``str()`` is one line that says why."""


@dataclass
class Session:
    """What a check saw: its SMTP sessions and DNS lookups, and what the check was about."""

    kind: str = ""
    #: The check's target as in the report (``{"domain": ..., "shown": ...}``).
    target: dict[str, str] = field(default_factory=dict)
    transcripts: list[Transcript] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    #: The report's verdict (status, summary, side), when the file had one.
    verdict: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def title(self) -> str:
        """A short, sanitised name for headings: "receive healthy.test"."""
        target = self.target.get("shown") or " ".join(self.target.values())
        return visible(" ".join(filter(None, (self.kind, target))) or "saved session", 120)

    @property
    def line_count(self) -> int:
        """How many transcript lines the session holds."""
        return sum(len(t.lines) for t in self.transcripts)

    def to_json(self) -> dict[str, object]:
        """The session in the report's JSON shape (a subset: no findings)."""
        out: dict[str, object] = {"schema": SCHEMA_VERSION, "mxwizard": __version__, "kind": self.kind,
                                  "target": dict(self.target)}
        if self.verdict:
            out["verdict"] = dict(self.verdict)
        out["transcripts"] = [t.to_json() for t in self.transcripts]
        out["dns"] = [lookup.to_json() for lookup in self.lookups]
        out["elapsed_ms"] = round(self.elapsed_ms, 1)
        return out


def session_of(diagnosis: Any) -> Session:
    """The session of a finished :class:`~mxwizard.diagnosis.result.Diagnosis`."""
    verdict = diagnosis.verdict.to_json() if diagnosis.findings else {}
    return Session(str(diagnosis.kind), {str(k): str(v) for k, v in diagnosis.target.items()},
                   list(diagnosis.transcripts), list(diagnosis.lookups), verdict,
                   float(diagnosis.elapsed_ms))


def file_name_for(kind: str, target: Mapping[str, str], extension: str, what: str = "") -> str:
    """``mxwizard-[WHAT-]<kind>-<target><extension>``: a safe name in the current directory for
    a file about one check (its report, its session), made of letters, digits, dots, hyphens
    and underscores only, whatever the target holds."""
    shown = target.get("domain") or next(iter(target.values()), "")
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{kind}-{shown}")[:60].strip("._-") or "check"
    return f"mxwizard-{what}-{slug}{extension}" if what else f"mxwizard-{slug}{extension}"


def default_file_name(session: Session) -> str:
    """``mxwizard-session-<kind>-<target>.json``: a safe name in the current directory."""
    return file_name_for(session.kind, session.target, ".json", what="session")


def save_session(session: Session, path: str | os.PathLike[str], *, replace: bool = False) -> Path:
    """Write ``session`` to ``path`` as JSON; returns the path written.

    Raises ``FileExistsError`` if the file exists and ``replace`` is false, and ``OSError`` for
    anything else (see :func:`write_new_file`).
    """
    return write_new_file(path, session_text(session), replace=replace)


def session_text(session: Session) -> str:
    """The session as a session file holds it: indented JSON, ASCII only."""
    return json.dumps(session.to_json(), indent=2, ensure_ascii=True) + "\n"


def write_new_file(path: str | os.PathLike[str], text: str, *, replace: bool = False) -> Path:
    """Write ``text`` (UTF-8) to a new file at ``path``; returns the path written.

    The file is created exclusively, so nothing is overwritten and no symbolic link is followed:
    an existing regular file raises ``FileExistsError`` (ask, then call again with ``replace``);
    a link, a directory or a device under that name raises :class:`NotReplaceable`. With
    ``replace``, an existing regular file is replaced atomically: written beside it, then renamed
    over it (a rename replaces the name, it never writes through a link).
    """
    target = Path(os.path.expanduser(os.fspath(path)))
    data = text.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        existing = os.lstat(target)
        if not stat.S_ISREG(existing.st_mode):
            raise NotReplaceable(errno.EEXIST, "a link, folder or device has that name, and it is "
                                 "never replaced", str(target)) from None
        if not replace:
            raise
        return _replace_file(target, data, stat.S_IMODE(existing.st_mode))
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
    return target


class NotReplaceable(OSError):
    """The name to write to is a link, a directory or a device: never written through."""


def _replace_file(target: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a fresh file beside ``target`` (keeping ``mode``), then rename it over
    ``target``; the temporary file is removed if anything fails."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


# --- loading and checking ---------------------------------------------------------------------

def load_session(path: str | os.PathLike[str], *, directory: str | os.PathLike[str] | None = None,
                 progress: Progress | None = None) -> Session:
    """Read and check a session file; raises :class:`SessionError` with one line on any problem.

    See :func:`open_session_file` for ``directory``; ``progress`` is told how far the load has
    come (see :data:`Progress`).
    """
    return open_session_file(path, directory=directory).load(progress)


def open_session_file(path: str | os.PathLike[str], *,
                      directory: str | os.PathLike[str] | None = None,
                      regular_only: bool = False) -> SessionFile:
    """Open a session file and check its size, without reading it (quick: the wizard does this at
    once and leaves the reading to a worker). Raises :class:`SessionError` with one line.

    With ``directory``, ``path`` must be a bare file name in that directory, a regular file and
    not a symbolic link: the browser wizard (``mxwizard serve``) opens files this way, so that a
    visitor cannot read anything outside the directory fixed when the server started.
    ``regular_only`` refuses pipes and devices (and never waits for a pipe's writer); without it,
    ``mxwizard replay <(...)`` reads a pipe.
    """
    shown = visible(os.fspath(path), 200)
    try:
        if directory is not None:
            fd = _open_confined(os.fspath(path), directory, shown)
        else:
            flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if regular_only else 0)
            fd = os.open(os.path.expanduser(os.fspath(path)), flags)
    except OSError as exc:
        raise SessionError(f"cannot read {shown}: {visible(exc.strerror or str(exc), 200)}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SessionError(f"{shown} is a directory, not a session file")
        if (regular_only or directory is not None) and not stat.S_ISREG(info.st_mode):
            raise SessionError(f"{shown} is not a plain file")
        if info.st_size > MAX_FILE_BYTES:
            raise SessionError(_too_big(shown))
        if regular_only:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return SessionFile(fd, shown, info.st_size)


def _open_confined(name: str, directory: str | os.PathLike[str], shown: str) -> int:
    """Open ``name`` inside ``directory`` without following a link or leaving the directory."""
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        raise SessionError(f"{shown} is not a file name: here only the names of files in "
                           f"{visible(os.fspath(directory), 200)} can be opened")
    folder = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        return os.open(name, flags, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SessionError(f"{shown} is a symbolic link; here only plain files are opened") from None
        raise
    finally:
        os.close(folder)


def _too_big(shown: str) -> str:
    return f"{shown} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, more than a session file holds"


#: How much is read at a time (the progress moves between reads).
_CHUNK = 256 * 1024


@dataclass
class SessionFile:
    """An open session file whose size is known to be within the limit, not yet read."""

    fd: int
    #: The name as given, made visible (for messages).
    shown: str
    #: The size when it was opened (0 for a pipe).
    size: int

    def load(self, progress: Progress | None = None) -> Session:
        """Read, check and annotate the session, then close the file; raises :class:`SessionError`
        (or whatever ``progress`` raises to abandon the load)."""
        report = progress or _no_progress
        try:
            data = self._read(report)
        finally:
            self.close()
        return parse_session(data, self.shown, progress=report)

    def close(self) -> None:
        """Close the file (again: harmless)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        """A file handed to a worker that was cancelled before it ran is closed here."""
        self.close()

    def _read(self, report: Progress) -> bytes:
        """At most :data:`MAX_FILE_BYTES`, even from a pipe or a file that grows meanwhile."""
        expected = max(self.size, 1)
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := os.read(self.fd, _CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise SessionError(_too_big(self.shown))
                report(0.2 * min(1.0, size / expected))
        except OSError as exc:
            raise SessionError(f"cannot read {self.shown}: "
                               f"{visible(exc.strerror or str(exc), 200)}") from None
        return b"".join(chunks)


def _no_progress(fraction: float) -> None:
    """The progress report of a load nobody watches."""


def parse_session(data: bytes | str, name: str = "the session file", *,
                  progress: Progress | None = None) -> Session:
    """Check and convert the text of a session file (see :func:`load_session`)."""
    report = progress or _no_progress
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise SessionError(f"{name} is not UTF-8 text; a session file is JSON") from None
    try:
        raw = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise SessionError(f"{name} nests too deeply to be a session file") from None
    except json.JSONDecodeError as exc:
        raise SessionError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg.lower()})") from None
    except ValueError as exc:  # NaN / Infinity
        raise SessionError(f"{name} is not valid JSON ({visible(str(exc), 80)})") from None
    report(0.3)
    try:
        return _session(raw, report)
    except SessionError as exc:
        raise SessionError(f"{name}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _session(raw: object, report: Progress) -> Session:
    if not isinstance(raw, dict):
        raise SessionError("not a session: the file must hold one JSON object, as "
                           "'mxwizard check ... --format json' writes")
    if "transcripts" not in raw and "dns" not in raw:
        raise SessionError("not a session: it has neither \"transcripts\" nor \"dns\"")
    kind = _string(raw.get("kind", ""), "kind", 40)
    target_raw = raw.get("target", {})
    if isinstance(target_raw, str):
        target = {"shown": _string(target_raw, "target", 1000)}
    else:
        target = {str(k)[:40]: _string(v, f"target.{visible(str(k), 40)}", 1000)
                  for k, v in _mapping(target_raw, "target").items()}
    verdict_raw = raw.get("verdict", {})
    verdict = {str(k)[:40]: _string(v, f"verdict.{visible(str(k), 40)}", 1000)
               for k, v in _mapping(verdict_raw, "verdict").items()
               if k in ("status", "summary", "side")}
    raw_transcripts = _list(raw.get("transcripts", []), "transcripts", MAX_TRANSCRIPTS)
    total = sum(len(item.get("lines", ())) for item in raw_transcripts
                if isinstance(item, dict) and isinstance(item.get("lines"), list))
    if total > MAX_LINES:  # counted before a single line is converted
        raise SessionError(f"more than {MAX_LINES} transcript lines")
    steps = _Steps(report, 0.3, 1.0, 2 * total)
    transcripts = [_transcript(t, f"transcripts[{i}]", steps) for i, t in enumerate(raw_transcripts)]
    lookups = [_lookup(item, f"dns[{i}]")
               for i, item in enumerate(_list(raw.get("dns", []), "dns", MAX_LOOKUPS))]
    if not transcripts and not lookups:
        raise SessionError("it holds no SMTP session and no DNS lookup to replay")
    elapsed = _number(raw.get("elapsed_ms", 0.0), "elapsed_ms", MAX_T_MS)
    for transcript in transcripts:  # the notes are the knowledge base's, not the file's
        annotate_recorded(transcript, steps)
    report(1.0)
    return Session(kind, target, transcripts, lookups, verdict, elapsed)


class _Steps:
    """Counts lines done and reports the fraction every so many lines (not every line: the report
    may cross threads)."""

    EVERY = 2000

    def __init__(self, report: Progress, start: float, end: float, total: int) -> None:
        self.report, self.start, self.span, self.total = report, start, end - start, max(total, 1)
        self.done = 0

    def step(self) -> None:
        """One more line done."""
        self.done += 1
        if self.done % self.EVERY == 0:
            self.report(self.start + self.span * min(1.0, self.done / self.total))


def _transcript(raw: object, where: str, steps: _Steps) -> Transcript:
    item = _mapping(raw, where)
    port = item.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise SessionError(f"{where}.port must be a port number (0 to 65535)")
    lines: list[TranscriptLine] = []
    for i, line in enumerate(_list(item.get("lines", []), f"{where}.lines", MAX_LINES)):
        lines.append(_line(line, f"{where}.lines[{i}]"))
        steps.step()
    # names and addresses are made visible at once: some views print them as they are
    return Transcript(visible(_string(item.get("host", ""), f"{where}.host", 1000), 1000),
                      visible(_string(item.get("ip", ""), f"{where}.ip", 200), 200), port, lines)


_DIRECTIONS = {d.value: d for d in Direction}


def _line(raw: object, where: str) -> TranscriptLine:
    item = _mapping(raw, where)
    direction = item.get("dir")
    if not isinstance(direction, str) or direction not in _DIRECTIONS:
        raise SessionError(f"{where}.dir must be one of C, S, info, error")
    encrypted = item.get("encrypted", False)
    if not isinstance(encrypted, bool):
        raise SessionError(f"{where}.encrypted must be true or false")
    return TranscriptLine(_number(item.get("t_ms"), f"{where}.t_ms", MAX_T_MS), _DIRECTIONS[direction],
                          _string(item.get("text"), f"{where}.text", MAX_TEXT),
                          _string(item.get("note", ""), f"{where}.note", MAX_TEXT), encrypted)


_OUTCOMES = {o.value: o for o in Outcome}
_QTYPE = re.compile(r"^[A-Z0-9]{1,10}$")


def _lookup(raw: object, where: str) -> Lookup:
    item = _mapping(raw, where)
    qtype = _string(item.get("qtype"), f"{where}.qtype", 10).upper()
    if not _QTYPE.match(qtype):
        raise SessionError(f"{where}.qtype is not a DNS record type")
    rcode = item.get("rcode")
    if not isinstance(rcode, str) or rcode.upper() not in _OUTCOMES:
        raise SessionError(f"{where}.rcode must be one of {', '.join(_OUTCOMES)}")
    answers = [_record(_string(a, f"{where}.answers[{i}]", MAX_TEXT), f"{where}.answers[{i}]")
               for i, a in enumerate(_list(item.get("answers", []), f"{where}.answers", 10_000))]
    return Lookup(visible(_string(item.get("qname"), f"{where}.qname", 1000), 1000), qtype,
                  visible(_string(item.get("server", ""), f"{where}.server", 300), 300),
                  _OUTCOMES[rcode.upper()],
                  tuple(answers), (), _number(item.get("t_ms", 0.0), f"{where}.t_ms", MAX_T_MS),
                  _number(item.get("ms", 0.0), f"{where}.ms", MAX_T_MS),
                  _string(item.get("note", ""), f"{where}.note", MAX_TEXT),
                  authenticated=item.get("ad") is True)  # validated by DNSSEC (the AD bit)


def _record(line: str, where: str) -> Record:
    """A zone-file line ``name ttl IN TYPE data`` back into a :class:`Record`."""
    try:
        return Record.from_zone_line(line)
    except ValueError:
        raise SessionError(f"{where} is not a DNS record (name ttl class type data)") from None


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise SessionError(f"{where} must be a JSON object")
    return raw


def _list(raw: object, where: str, limit: int) -> list[object]:
    if not isinstance(raw, list):
        raise SessionError(f"{where} must be a JSON list")
    if len(raw) > limit:
        raise SessionError(f"{where} holds more than {limit} entries")
    return raw


def _string(raw: object, where: str, limit: int) -> str:
    if not isinstance(raw, str):
        raise SessionError(f"{where} must be text")
    if len(raw) > limit:
        raise SessionError(f"{where} is longer than {limit} characters")
    return raw


def _number(raw: object, where: str, limit: float) -> float:
    if not isinstance(raw, (int, float)) or isinstance(raw, bool):
        raise SessionError(f"{where} must be a number of milliseconds")
    value = float(raw)
    if not math.isfinite(value) or not 0 <= value <= limit:
        raise SessionError(f"{where} must lie between 0 and {limit:.0f} ms")
    return value


# --- notes for a recorded session ------------------------------------------------------------

def annotate_recorded(transcript: Transcript, steps: _Steps | None = None) -> Transcript:
    """Give every line of a recorded session its note, in time linear in the session's size.

    The live :class:`~mxwizard.core.transcript.Annotator` reads a reply line by line as it arrives,
    so each line is judged on the whole reply so far: fine for the handful of lines a real reply
    has, quadratic for a file holding one reply of thousands of lines (2,000 lines took over a
    minute). A recording is complete, so here each multi-line reply is read once. The annotator
    sees its first line (the code and what it means) and its last line (which ends the reply);
    the lines between are noted on their own, an EHLO extension by its keyword and any other line
    as "the reply goes on"; and the reply's whole text is read once more, so that a big
    provider's wording anywhere in it is named, on the reply's second line. Every other line goes
    through the annotator as it does live, so a real session gets the notes it got when it was
    recorded. The annotator reads at most :data:`ANNOTATED_CHARS` of a line, which bounds the
    work a file of absurdly long lines can cause.
    """
    annotator = Annotator()
    reply = _ReplyReader()
    for line in transcript.lines:
        if reply.is_inside(line):
            line.note = reply.inner_note(line)
        else:
            reply.before(line)
            if len(line.text) <= ANNOTATED_CHARS:
                annotate(line, annotator)
            else:  # the annotator reads the start only; the line keeps all its text
                start = TranscriptLine(line.t_ms, line.dir, line.text[:ANNOTATED_CHARS], line.note,
                                       line.encrypted)
                line.note = annotate(start, annotator).note
            reply.after(line)
        if steps is not None:
            steps.step()
    return transcript


#: The most text of one reply read at once to name a provider (the knowledge base reads no more).
_REPLY_TEXT = 20_000


class _ReplyReader:
    """Follows the flow of a session the way the annotator does, to tell which lines lie inside a
    multi-line reply (after its first line, before its last), and reads each such reply's text
    once when it ends."""

    def __init__(self) -> None:
        self.verb = ""  # the command the next reply answers
        self.awaiting = True  # a reply (the greeting, at first) is expected
        self.started = False  # a reply's first line has been seen, its last not yet
        self.greeted = False
        self.code = 0
        self.text: list[str] = []  # the reply's text so far, up to _REPLY_TEXT characters
        self.room = _REPLY_TEXT
        self.second: TranscriptLine | None = None  # the reply's second line, if it has more
        self.notes: set[str] = set()  # the notes its first and last line got
        self.ending = False  # the line being annotated ends a reply of three lines or more

    def is_inside(self, line: TranscriptLine) -> bool:
        """True for a reply line after the reply's first and before its last."""
        return (line.dir is Direction.SERVER and self.started and line.text[3:4] == "-"
                and parse_reply(line.text) is not None)

    def inner_note(self, line: TranscriptLine) -> str:
        """The note of a line inside a reply, from that line alone."""
        parsed = parse_reply(line.text)
        assert parsed is not None  # is_inside said so
        self._keep(parsed[2])
        if self.greeted and self.verb == "EHLO" and parsed[0] == 250:
            keyword, _, parameters = parsed[2].partition(" ")
            # the same bounded inputs as the live annotator, so the note is as short as there
            return extension_note(visible(keyword, 24), visible(parameters.strip(), 30))
        if self.second is None:
            self.second = line
        return REPLY_GOES_ON

    def before(self, line: TranscriptLine) -> None:
        """Take in a line that the annotator is about to read."""
        self.ending = False
        if line.dir is Direction.CLIENT:
            if not line.text.startswith("<message"):
                self.verb = {".": "<message>", "<redacted>": "AUTH"}.get(
                    line.text, line.text.split(" ", 1)[0].upper())
                self.awaiting, self.started = True, False
            return
        parsed = parse_reply(line.text) if line.dir is Direction.SERVER and self.awaiting else None
        if parsed is None:
            return
        if not self.started:  # the first line of a reply
            self.code, self.text, self.room = parsed[0], [], _REPLY_TEXT
            self.second, self.notes = None, set()
            self._keep(" ".join(filter(None, parsed[1:])))
        else:
            self._keep(parsed[2])
            self.ending = self.second is not None
        self.started = line.text[3:4] == "-"
        if not self.started:
            self.awaiting, self.greeted = False, True

    def after(self, line: TranscriptLine) -> None:
        """The annotator has noted ``line``: at the end of a long reply, name the provider whose
        wording is in it, if the first and last line did not."""
        self.notes.add(line.note)
        if not self.ending or self.second is None:
            return
        found = meaning(self.code, " ".join(self.text))
        if found.provider and found.note not in self.notes:
            self.second.note = found.note

    def _keep(self, text: str) -> None:
        if self.room > 0:
            self.text.append(text[: self.room])
            self.room -= len(text) + 1


# --- the recorded pace -------------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    """One thing a replay shows, after waiting ``wait_ms`` (recorded milliseconds)."""

    wait_ms: float
    transcript: Transcript | None = None
    line: TranscriptLine | None = None
    lookup: Lookup | None = None


def real_pause(wait_ms: float, speed: float) -> float:
    """The real seconds to wait for a recorded pause of ``wait_ms`` at ``speed`` (0: none): the
    recorded pause divided by the speed, but never more than :data:`MAX_REAL_PAUSE_S`."""
    if speed <= 0 or wait_ms <= 0:
        return 0.0
    return min(wait_ms / 1000.0 / max(speed, MIN_SPEED), MAX_REAL_PAUSE_S)


def pause_between(previous: float | None, current: float) -> float:
    """The recorded pause between two moments, never negative and never over MAX_PAUSE_MS."""
    if previous is None:
        return 0.0
    return min(max(0.0, current - previous), MAX_PAUSE_MS)


def timeline(session: Session, *, dns: bool = True) -> list[Cue]:
    """What a replay shows, in order: the DNS lookups as they were sent, then each SMTP session
    line by line. Sessions that ran at the same time are played one after another; within each,
    the pauses are the recorded ones."""
    cues: list[Cue] = []
    last: float | None = None
    if dns:
        for lookup in sorted(session.lookups, key=lambda lookup: lookup.t_ms):
            cues.append(Cue(pause_between(last, lookup.t_ms), lookup=lookup))
            last = lookup.t_ms
    for transcript in session.transcripts:
        for line in transcript.lines:
            cues.append(Cue(pause_between(last, line.t_ms), transcript, line))
            last = line.t_ms
    return cues


def _cue_json(cue: Cue) -> dict[str, object]:
    if cue.lookup is not None:
        return {"schema": SCHEMA_VERSION, "type": "dns", **cue.lookup.to_json()}
    assert cue.transcript is not None and cue.line is not None
    return {"schema": SCHEMA_VERSION, "type": "smtp", "host": cue.transcript.host, "ip": cue.transcript.ip,
            "port": cue.transcript.port, **cue.line.to_json()}


def play(session: Session, speed: float, fmt: str, out: TextIO,
         sleep: Callable[[float], None] | None = None) -> int:
    """Print ``session`` cue by cue at the recorded pace times ``speed`` (0: no waiting).

    ``fmt`` is ``text`` (what a terminal reader wants: headings, arrows, notes) or ``json`` (one
    JSON object per line, for scripts). ``sleep`` waits (default ``time.sleep``); no single wait
    is longer than :data:`MAX_REAL_PAUSE_S` (see :func:`real_pause`). Returns how many cues were
    printed.
    """
    cues = timeline(session)
    wait = sleep or time.sleep
    if fmt == "text":
        out.write(f"Replay of {session.title}: {len(session.transcripts)} SMTP session(s), "
                  f"{len(session.lookups)} DNS lookup(s)"
                  + (f", at {speed:g}x the recorded pace\n" if speed else ", without pauses\n"))
        out.flush()
    current: Transcript | None = None
    start = 0.0
    for index, cue in enumerate(cues):
        seconds = real_pause(cue.wait_ms, speed)
        if seconds > 0:
            wait(seconds)
        if fmt == "json":
            out.write(json.dumps(_cue_json(cue), ensure_ascii=True) + "\n")
        elif cue.lookup is not None:
            out.write(f"\nDNS lookups ({len(session.lookups)})\n" if index == 0 else "\n")
            out.write(render_lookup(cue.lookup) + "\n")
        else:
            assert cue.transcript is not None and cue.line is not None
            if cue.transcript is not current:
                current = cue.transcript
                start = current.lines[0].t_ms
                out.write("\n" + current.heading() + "\n")
            out.write("\n".join(render_line(cue.line, start)) + "\n")
        out.flush()
    return len(cues)
