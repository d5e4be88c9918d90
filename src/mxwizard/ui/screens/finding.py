"""One finding on a whole screen: what was found, why it matters, the fix and the evidence.

The detail pane under a findings list shows a few lines; a fix with the exact records to publish
is often longer. Enter on a finding opens it here, where the arrow keys scroll and Escape goes back,
so nobody needs Tab or a mouse to read a fix to the end.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from mxwizard.core.findings import Finding
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.widgets.findings import finding_detail
from mxwizard.ui.widgets.keybar import KeyBar


class FindingScreen(WizardScreen):
    """A single finding in full, scrolled with the arrow keys."""

    HELP_TOPIC = "verdict"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("c", "copy_fix", "Copy fix"),
    ]

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        self.finding = finding

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="finding-full-scroll"):
            yield Static(finding_detail(self.finding), id="finding-full")
        yield KeyBar()

    def on_mount(self) -> None:
        """Arrows scroll from the start."""
        self.sub_title = self.finding.id
        self.query_one(VerticalScroll).focus()

    def action_back(self) -> None:
        """Back to the list."""
        self.dismiss()

    def action_copy_fix(self) -> None:
        """Copy the fix (the exact record or setting)."""
        self.wizard.copy_fix(self.finding)

    def palette_commands(self) -> list[PaletteCommand]:
        """The finding's one action."""
        return [("Copy the fix", "Copy this finding's fix", self.action_copy_fix)]
