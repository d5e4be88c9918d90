"""The SMTP transcript view: every line of every session, who sent it, when, and what it means.

Each line shows the elapsed milliseconds, the direction (``C→`` we sent, ``S←`` the server
replied, ``**`` the probe's remark, ``!!`` an error), a ``tls`` mark for lines that crossed the
wire encrypted, the server's text made visible (escapes instead of control characters, never
markup) and the short note. Highlighting a line shows the long explanation below, when the
annotator offers one. Wraps instead of cutting, so it stays readable at 80 columns.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.core.transcript import Direction, Transcript, TranscriptLine, explain_line
from mxwizard.core.untrusted import visible

_DIRECTION_STYLE = {
    Direction.CLIENT: ("C→", "bold $text-primary"),
    Direction.SERVER: ("S←", "bold $text-secondary"),
    Direction.INFO: ("**", "$text-muted"),
    Direction.ERROR: ("!!", "bold $text-error"),
}


def line_prompt(line: TranscriptLine) -> Content:
    """One transcript line as a list row (note on a second, indented line)."""
    arrow, style = _DIRECTION_STYLE.get(line.dir, ("??", ""))
    parts: list[str | Content | tuple[str, str]] = [
        (f"{line.t_ms:6.0f}ms ", "$text-muted"), (arrow, style), " ",
    ]
    if line.encrypted:
        parts.append(("tls ", "$text-success"))
    parts.append(visible(line.text, 600))
    if line.note:
        parts += ["\n", (f"           ↳ {visible(line.note, 300)}", "italic $text-muted")]
    return Content.assemble(*parts)


def session_heading(transcript: Transcript) -> Option:
    """The heading row of a session: host, address and port."""
    where = f"{visible(transcript.host, 120)} [{visible(str(transcript.ip), 60)}]:{transcript.port}"
    text = f"── SMTP session with {where} "
    return Option(Content.assemble((text, "bold")), disabled=True)


def line_explanation(transcript: Transcript, index: int) -> Content:
    """The detail pane for a line: the text in full, the note, and the long explanation."""
    line = transcript.lines[index]
    arrow, _ = _DIRECTION_STYLE.get(line.dir, ("??", ""))
    who = {Direction.CLIENT: "We sent", Direction.SERVER: "The server replied",
           Direction.INFO: "Note from the probe", Direction.ERROR: "Error"}.get(line.dir, "Line")
    parts: list[str | Content | tuple[str, str]] = [
        (f"{who} at {line.t_ms:.0f} ms", "bold"),
        " (inside TLS)" if line.encrypted else "", "\n", f"{arrow} {visible(line.text, 2000)}", "\n",
    ]
    if line.note:
        parts += ["\n", visible(line.note, 600), "\n"]
    try:
        long = explain_line(transcript, index)
    except Exception:  # an annotator bug must not take the view down
        long = ""
    paragraphs = [visible(p, 2000) for p in long.splitlines() if p.strip() != line.note.strip()]
    if any(paragraphs):
        parts += ["\n", "\n".join(paragraphs)]
    return Content.assemble(*parts)


class TranscriptView(Vertical):
    """Every SMTP session of a diagnosis, filled line by line as the probe talks."""

    DEFAULT_CSS = """
    TranscriptView { height: 1fr; }
    TranscriptView > OptionList { height: 2fr; min-height: 3; }
    TranscriptView > VerticalScroll { height: 1fr; min-height: 3; border-top: solid $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._last_session: int | None = None
        self._lines: dict[str, tuple[Transcript, int]] = {}
        self.follow = True

    def compose(self) -> ComposeResult:
        yield OptionList(id="transcript-list")
        with VerticalScroll(id="transcript-detail-scroll"):
            yield Static(Content("No SMTP conversation yet."), id="transcript-detail")

    @property
    def option_list(self) -> OptionList:
        """The list part (for focusing)."""
        return self.query_one("#transcript-list", OptionList)

    def add_line(self, transcript: Transcript, line: TranscriptLine) -> None:
        """Append a line. Sessions run at the same time, so a heading names the session whenever
        the next line belongs to a different one than the line before."""
        option_list = self.option_list
        if self._last_session != id(transcript):
            self._last_session = id(transcript)
            option_list.add_option(session_heading(transcript))
        key = f"l{len(self._lines)}"
        index = next((i for i, known in enumerate(transcript.lines) if known is line), None)
        if index is None:  # not recorded in its transcript: explain it on its own
            transcript = Transcript(transcript.host, transcript.ip, transcript.port, [line])
            index = 0
        self._lines[key] = (transcript, index)
        option_list.add_option(Option(line_prompt(line), id=key))
        if self.follow and not option_list.has_focus:
            option_list.highlighted = option_list.option_count - 1

    def show_all(self, transcripts: list[Transcript]) -> None:
        """Show finished transcripts one session after another (a finished diagnosis)."""
        self.option_list.clear_options()
        self._last_session = None
        self._lines.clear()
        for transcript in transcripts:
            for line in transcript.lines:
                self.add_line(transcript, line)

    @property
    def line_count(self) -> int:
        """How many lines are shown (headings not counted)."""
        return len(self._lines)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Explain the highlighted line."""
        event.stop()
        where = self._lines.get(event.option.id or "")
        if where is not None:
            self.query_one("#transcript-detail", Static).update(line_explanation(*where))
