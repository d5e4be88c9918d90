"""A checkbox that shows its state by its mark, not by colour alone.

Textual's Checkbox draws an ``X`` whether it is ticked or not and tells the two apart only by the
colour of the ``X``: in a 16-colour terminal, or with NO_COLOR, both states can look the same.
This one is empty when unticked, as a paper form is.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    """A Checkbox whose box holds an ``X`` only when it is ticked."""

    def render(self) -> Content:
        """The box (marked or empty, as the value is now) and the label."""
        self.BUTTON_INNER = "X" if self.value else " "
        return super().render()
