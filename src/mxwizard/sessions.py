"""Saved sessions: the SMTP conversations and DNS lookups of one check, kept in a file to replay.

A session file is the JSON report of DESIGN.md §2, or any subset of it that keeps
``transcripts`` and/or ``dns``. So the output of ``mxwizard check ... --format json`` against a
real server is a session file as it stands, and a file saved from the lessons is a valid report.

Session files come from anywhere (a colleague, a forum post, an attacker), so :func:`load_session`
checks every field and answers a bad file with one :class:`SessionError` line, never a traceback.
The text in them is kept as it was and made visible only where it is shown. :func:`timeline` and
:func:`play` give the recorded pace of a session for ``mxwizard replay``; the TUI's timed
playback uses the same :func:`timeline`. Headless: no Textual here.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mxwizard import __version__
from mxwizard.dnsview import render_lookup
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.transcript import Direction, Transcript, TranscriptLine, annotate_session, render_line
from mxwizard.untrusted import visible

#: Files larger than this are refused before they are parsed.
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
        out: dict[str, object] = {"mxwizard": __version__, "kind": self.kind, "target": dict(self.target)}
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


def default_file_name(session: Session) -> str:
    """``mxwizard-session-<kind>-<target>.json``: a safe name in the current directory."""
    target = session.target.get("domain") or next(iter(session.target.values()), "")
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{session.kind}-{target}")[:60].strip("._-") or "check"
    return f"mxwizard-session-{slug}.json"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write ``session`` to ``path`` as JSON; returns the path written. Raises ``OSError``."""
    target = Path(os.path.expanduser(os.fspath(path)))
    text = json.dumps(session.to_json(), indent=2, ensure_ascii=True) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


# --- loading and checking ---------------------------------------------------------------------

def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and check a session file; raises :class:`SessionError` with one line on any problem."""
    shown = visible(os.fspath(path), 200)
    try:
        file = Path(os.path.expanduser(os.fspath(path)))
        if file.is_dir():
            raise SessionError(f"{shown} is a directory, not a session file")
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SessionError(f"cannot read {shown}: {visible(exc.strerror or str(exc), 200)}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SessionError(f"{shown} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return parse_session(data, shown)


def parse_session(data: bytes | str, name: str = "the session file") -> Session:
    """Check and convert the text of a session file (see :func:`load_session`)."""
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
    try:
        return _session(raw)
    except SessionError as exc:
        raise SessionError(f"{name}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _session(raw: object) -> Session:
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
    transcripts = [_transcript(t, f"transcripts[{i}]")
                   for i, t in enumerate(_list(raw.get("transcripts", []), "transcripts", MAX_TRANSCRIPTS))]
    if sum(len(t.lines) for t in transcripts) > MAX_LINES:
        raise SessionError(f"more than {MAX_LINES} transcript lines")
    lookups = [_lookup(item, f"dns[{i}]")
               for i, item in enumerate(_list(raw.get("dns", []), "dns", MAX_LOOKUPS))]
    if not transcripts and not lookups:
        raise SessionError("it holds no SMTP session and no DNS lookup to replay")
    elapsed = _number(raw.get("elapsed_ms", 0.0), "elapsed_ms", MAX_T_MS)
    for transcript in transcripts:  # the notes are the knowledge base's, not the file's
        annotate_session(transcript)
    return Session(kind, target, transcripts, lookups, verdict, elapsed)


def _transcript(raw: object, where: str) -> Transcript:
    item = _mapping(raw, where)
    port = item.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise SessionError(f"{where}.port must be a port number (0 to 65535)")
    lines = [_line(line, f"{where}.lines[{i}]")
             for i, line in enumerate(_list(item.get("lines", []), f"{where}.lines", MAX_LINES))]
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
                  _string(item.get("note", ""), f"{where}.note", MAX_TEXT))


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


# --- the recorded pace -------------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    """One thing a replay shows, after waiting ``wait_ms`` (recorded milliseconds)."""

    wait_ms: float
    transcript: Transcript | None = None
    line: TranscriptLine | None = None
    lookup: Lookup | None = None


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
        return {"type": "dns", **cue.lookup.to_json()}
    assert cue.transcript is not None and cue.line is not None
    return {"type": "smtp", "host": cue.transcript.host, "ip": cue.transcript.ip,
            "port": cue.transcript.port, **cue.line.to_json()}


def play(session: Session, speed: float, fmt: str, out: TextIO,
         sleep: Callable[[float], None] | None = None) -> int:
    """Print ``session`` cue by cue at the recorded pace times ``speed`` (0: no waiting).

    ``fmt`` is ``text`` (what a terminal reader wants: headings, arrows, notes) or ``json`` (one
    JSON object per line, for scripts). ``sleep`` waits (default ``time.sleep``). Returns how many
    cues were printed.
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
        if speed > 0 and cue.wait_ms > 0:
            wait(cue.wait_ms / 1000.0 / speed)
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
