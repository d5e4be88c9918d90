"""The command palette (ctrl+p): jump to a step, switch tabs, export, start another check.

Each screen lists its own commands (``WizardScreen.palette_commands``), and so does the app (its
few global ones); this provider gathers both and matches them against what the user types.
Command names are shown as plain content, never as markup.
"""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from mxwizard.ui.screens.base import PaletteCommand


class WizardCommands(Provider):
    """Commands of the screen the palette was opened on, plus the app's own."""

    def _commands(self) -> list[PaletteCommand]:
        commands: list[PaletteCommand] = []
        for source in (self.screen, self.app):
            offered = getattr(source, "palette_commands", None)
            if callable(offered):
                commands += offered()
        return commands

    async def discover(self) -> Hits:
        """Everything, before anything is typed."""
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands whose name matches what is typed."""
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, Content(name), callback, text=name, help=help_text)
