"""A checkbox and a radio button that show their state by their mark, not by colour alone.

Textual's Checkbox draws an ``X`` whether it is ticked or not, and its RadioButton a ``●`` on
every option, and both tell the states apart only by colour: in a 16-colour terminal, or with
NO_COLOR, on and off can look the same. These are empty when off, as a paper form is.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class TickBox(Checkbox):
    """A Checkbox whose box holds an ``X`` only when it is ticked."""

    def render(self) -> Content:
        """The box (marked or empty, as the value is now) and the label."""
        self.BUTTON_INNER = "X" if self.value else " "
        return super().render()


class Choice(RadioButton):
    """A RadioButton whose circle holds a ``●`` only when it is the option chosen."""

    def render(self) -> Content:
        """The circle (marked or empty, as the value is now) and the label."""
        self.BUTTON_INNER = "●" if self.value else " "
        return super().render()
