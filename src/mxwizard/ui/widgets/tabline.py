"""The details screen's tab labels as one line of text, in place of Textual's own tab bar.

Textual's tab bar is eight widgets with an underline that moves after every switch (one more
repaint, or a 0.3 s glide of repaints when animations are on); with the steps, the transcript and
50 probes in flight, a tab key then cost a fifth more than it needs. This line is one widget: the
labels, the active one marked, flowing onto a second line only when the screen is too narrow for
them. The TabbedContent under it still switches the panes (its own bar is hidden in app.tcss), and
a click on a label selects that tab, so the mouse works too.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widgets import Static


class TabLine(Static):
    """``(pane id, label)`` pairs on a line; :meth:`show_active` marks the tab shown."""

    class Chosen(Message):
        """A label was clicked: show that pane."""

        def __init__(self, pane: str) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, tabs: list[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.tabs = tabs
        self.active = tabs[0][0] if tabs else ""
        #: Where each label sits: (row, first cell, last cell + 1, pane id).
        self._spans: list[tuple[int, int, int, str]] = []
        #: How many lines the labels take now (0: not laid out yet).
        self._rows = 0
        #: What the labels were last laid out for: (the active pane, the width).
        self._shown: tuple[str, int] | None = None

    @property
    def labels(self) -> list[str]:
        """The labels, as shown."""
        return [label for _pane, label in self.tabs]

    def on_mount(self) -> None:
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def show_active(self, pane: str) -> None:
        """Mark ``pane``'s label as the one shown."""
        if pane != self.active:
            self.active = pane
            self._lay_out()

    def _lay_out(self) -> None:
        width = self.size.width
        if (self.active, width) == self._shown:
            return
        self._shown = (self.active, width)
        rows: list[list[Content]] = [[]]
        spans: list[tuple[int, int, int, str]] = []
        offset = 0
        for pane, label in self.tabs:
            part = Content.assemble((f" {label} ", "bold reverse" if pane == self.active else "dim"))
            if width and offset and offset + part.cell_length > width:
                rows.append([])
                offset = 0
            spans.append((len(rows) - 1, offset, offset + part.cell_length, pane))
            rows[-1] += [part, Content(" ")]
            offset += part.cell_length + 1
        self._spans = spans
        # the screen is laid out again only if the labels take more or fewer lines than before
        self.update(Content("\n").join(Content.assemble(*row) for row in rows),
                    layout=len(rows) != self._rows)
        self._rows = len(rows)
        self.styles.height = len(rows)  # set, not "auto" (see KeyBar): a no-op when unchanged

    async def _on_click(self, event: events.Click) -> None:
        for row, start, end, pane in self._spans:
            if row == event.y and start <= event.x < end:
                event.stop()
                self.post_message(self.Chosen(pane))
                return
