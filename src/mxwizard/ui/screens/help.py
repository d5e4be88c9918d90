"""F1 help: the page for the screen the user is on, from ``ui/help/<topic>.md``.

Help pages are plain Markdown shipped with the package, so a trainer can read or improve them
without touching code. A missing page falls back to the general one.
"""

from __future__ import annotations

from importlib import resources
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


def help_text(topic: str) -> str:
    """The Markdown of a help topic (the welcome page when the topic has none)."""
    folder = resources.files("mxwizard.ui") / "help"
    for name in (topic, "welcome"):
        page = folder / f"{name}.md"
        if page.is_file():
            return page.read_text(encoding="utf-8")
    return "# Help\n\nNo help page is installed."


class HelpScreen(ModalScreen[None]):
    """A help page over the current screen; Escape, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close help"),
    ]

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            with VerticalScroll(id="help-scroll"):
                yield Markdown(help_text(self.topic), id="help-text")
            yield Static("Esc closes this help · ↑↓ PgUp PgDn Home End scroll", id="help-hint",
                         markup=False)

    def on_mount(self) -> None:
        """Focus the scrolling page, so the keys the hint names really scroll it (a plain
        container takes no focus, and the keys went nowhere)."""
        self.query_one("#help-scroll").focus()

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help."""
        self.dismiss(None)
