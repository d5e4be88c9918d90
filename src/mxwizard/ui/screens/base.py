"""What every wizard screen shares: a help topic for F1, commands for the command palette, and
the wizard it belongs to (as the :class:`~mxwizard.ui.wizard.Wizard` protocol: no screen imports
the app module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, cast

from textual.screen import Screen

from mxwizard.ui.wizard import Wizard

#: A command palette entry: its name, one line of help, and what it does.
PaletteCommand = tuple[str, str, Callable[[], object]]


class WizardScreen(Screen[None]):
    """A full screen of the wizard."""

    #: The help page shown by F1 (``ui/help/<topic>.md``).
    HELP_TOPIC: ClassVar[str] = "welcome"

    @property
    def wizard(self) -> Wizard:
        """The app, as the screens may use it (its settings, lab and memory, and where to go)."""
        return cast(Wizard, self.app)

    def help_topic(self) -> str:
        """The help page for this screen right now."""
        return self.HELP_TOPIC

    def palette_commands(self) -> list[PaletteCommand]:
        """Commands this screen offers in the command palette (besides the app's own)."""
        return []
