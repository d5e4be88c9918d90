"""Step-through playback of a finished diagnosis's SMTP sessions: one line per key press, each
explained as it appears. This is the trainer's view of a lesson: the class sees the greeting, then
EHLO and the extensions, then MAIL and RCPT and the verdict of the server, one at a time.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, Static

from mxwizard.transcript import Transcript, TranscriptLine
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.widgets.transcript import TranscriptView


class ReplayScreen(WizardScreen):
    """Plays the SMTP sessions back line by line."""

    HELP_TOPIC = "replay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("space,n", "next", "Next line"),
        Binding("backspace,p", "previous", "Previous"),
        Binding("a", "all", "All", show=False),
        Binding("r", "restart", "Start again", show=False),
    ]

    def __init__(self, title: str, transcripts: list[Transcript]) -> None:
        super().__init__()
        self.check_title = title
        #: Every line of every session, in session order.
        self.steps: list[tuple[Transcript, TranscriptLine]] = [
            (transcript, line) for transcript in transcripts for line in transcript.lines]
        #: How many lines are shown.
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="replay-status")
        yield TranscriptView(id="replay-transcript")
        yield Footer()

    def on_mount(self) -> None:
        """Show the first line."""
        self.sub_title = f"{self.check_title}: step by step"
        self.query_one(TranscriptView).follow = True
        self._show(1)

    def _show(self, count: int) -> None:
        count = max(0, min(count, len(self.steps)))
        view = self.query_one(TranscriptView)
        if count < self.shown:
            view.show_all([])
            self.shown = 0
        for transcript, line in self.steps[self.shown:count]:
            view.add_line(transcript, line)
        self.shown = count
        option_list = view.option_list
        if option_list.option_count:
            option_list.highlighted = option_list.option_count - 1
        if not self.steps:
            status = Content("This check had no SMTP conversation to play back.")
        elif count == len(self.steps):
            status = Content.assemble(("■ ", "bold"), f"End of the conversation ({count} lines). "
                                      "Backspace goes back a line, r starts again.")
        else:
            status = Content.assemble(("▶ ", "bold $text-accent"),
                                      f"Line {count} of {len(self.steps)}. Space shows the next one.")
        self.query_one("#replay-status", Static).update(status)

    def action_next(self) -> None:
        """One more line."""
        self._show(self.shown + 1)

    def action_previous(self) -> None:
        """One line less."""
        self._show(self.shown - 1)

    def action_all(self) -> None:
        """The whole conversation at once."""
        self._show(len(self.steps))

    def action_restart(self) -> None:
        """Back to the first line."""
        self._show(1)

    def action_back(self) -> None:
        """Back to the diagnosis."""
        self.dismiss()

    def palette_commands(self) -> list[PaletteCommand]:
        """The playback keys, for those who prefer the palette."""
        return [("Next line", "Show the next line of the conversation", self.action_next),
                ("Whole conversation", "Show every line at once", self.action_all),
                ("Start again", "Back to the first line", self.action_restart)]
