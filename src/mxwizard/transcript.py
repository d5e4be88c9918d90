"""The SMTP transcript: every line of a conversation, who sent it, when, and what it means.

This module is pure: the SMTP probe fills a :class:`Transcript` as bytes cross the wire, the
annotator (:func:`annotate`) gives each line its note, and the renderers turn it into text for a
terminal or a forum post. Lines keep the raw text; sanitising happens where text is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mxwizard.untrusted import visible


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
            "note": self.note,
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

    def to_json(self) -> dict[str, object]:
        """The session as in the JSON report."""
        return {
            "host": self.host,
            "ip": self.ip,
            "port": self.port,
            "lines": [line.to_json() for line in self.lines],
        }

    def render(self, width: int = 100) -> str:
        """A plain-text rendering with arrows and elapsed milliseconds, for terminals and posts."""
        out = [f"SMTP session with {visible(self.host, 200)} [{self.ip}]:{self.port}"]
        for line in self.lines:
            tls = "[tls] " if line.encrypted else ""
            text = visible(line.text, max(20, width - 16))
            out.append(f"{line.t_ms:8.0f} ms {line.dir.arrow} {tls}{text}")
            if line.note:
                out.append(f"{'':13}   # {line.note}")
        return "\n".join(out)
