"""The consent question before an open-relay test: testing someone else's server is not polite.

The relay test talks SMTP to a server and asks it to accept mail for outside addresses. It never
sends a message (no DATA), but it is still a probe a stranger's server may log as an attack, so the
user says yes explicitly, every time.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from mxwizard.core.untrusted import visible


class ConsentScreen(ModalScreen[bool]):
    """Asks "may I test this server?"; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, test it"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, server: str) -> None:
        super().__init__()
        self.server = server

    def compose(self) -> ComposeResult:
        with Vertical(id="consent-box"):
            yield Static(Content.assemble(
                ("Test ", "bold"), (visible(self.server, 120), "bold"), (" for open relaying?", "bold"),
                "\n\n",
                "The wizard will connect to this server and ask it, several ways, to accept mail "
                "from outside addresses for outside addresses. It never sends a message: it stops "
                "before DATA and resets after each try. The addresses it uses are reserved example "
                "domains.\n\n",
                "Only test servers you run or have permission to test. The server's owner may "
                "see the attempts in their logs.",
            ), id="consent-text")
            with Horizontal(id="consent-buttons"):
                yield Button("Yes, test it (y)", variant="warning", id="consent-yes")
                yield Button("No (n)", variant="primary", id="consent-no")

    def on_mount(self) -> None:
        """The safe answer has the focus."""
        self.query_one("#consent-no", Button).focus()

    @on(Button.Pressed, "#consent-yes")
    def yes_pressed(self, event: Button.Pressed) -> None:
        """Yes: test it."""
        event.stop()
        self.dismiss(True)

    @on(Button.Pressed, "#consent-no")
    def no_pressed(self, event: Button.Pressed) -> None:
        """No."""
        event.stop()
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(yes)
