"""What every wizard screen shares: a help topic for F1 and commands for the command palette."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.screen import Screen

if TYPE_CHECKING:
    from mxwizard.ui.app import WizardApp

#: A command palette entry: its name, one line of help, and what it does.
PaletteCommand = tuple[str, str, Callable[[], object]]


class WizardScreen(Screen[None]):
    """A full screen of the wizard."""

    #: The help page shown by F1 (``ui/help/<topic>.md``).
    HELP_TOPIC: ClassVar[str] = "welcome"

    @property
    def wizard(self) -> WizardApp:
        """The app, typed (screens read its settings, lab and memory)."""
        from mxwizard.ui.app import WizardApp

        assert isinstance(self.app, WizardApp)
        return self.app

    def help_topic(self) -> str:
        """The help page for this screen right now."""
        return self.HELP_TOPIC

    def palette_commands(self) -> list[PaletteCommand]:
        """Commands this screen offers in the command palette (besides the app's own)."""
        return []
