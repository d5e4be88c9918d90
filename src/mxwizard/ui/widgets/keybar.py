"""The key bar at the foot of every screen: the few keys that matter now, on one line (two or
more in a narrow terminal: a key and its description are never split, and never cut off).

Textual's own Footer rebuilds one widget per key whenever the focus moves, and that costs a layout
pass of the whole screen on every tab switch: half the time between a key press and the repainted
screen. This bar is a single piece of text. When the keys change (or the terminal's width) it shows
the new text; when they do not (most focus moves) it does nothing at all. A click on a key runs its
action, so the mouse works too, but nothing needs it.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    """One line of ``key description`` pairs for the screen's shown bindings."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-description-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._line: Content | None = None
        #: The keys shown: (``key description`` as shown, action, the node it belongs to).
        self._keys: list[tuple[Content, str, Any]] = []
        #: Where each key sits: (row, first cell, last cell + 1, action, the node it belongs to).
        self._spans: list[tuple[int, int, int, str, Any]] = []

    def on_mount(self) -> None:
        """Follow the screen's bindings from now on."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        """Stop following them."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        """A narrower or wider terminal: the keys flow onto as many lines as they need."""
        self._lay_out()

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        keys: list[tuple[Content, str, Any]] = []
        seen: set[str] = set()
        shown = [(node, binding, enabled) for node, binding, enabled, _tip in screen.active_bindings.values()
                 if binding.show]
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            shown.append((palette.node, palette.binding, palette.enabled))
        for node, binding, enabled in shown:
            if binding.action in seen:
                continue  # one action bound to several keys: the first key is enough
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            description = binding.description or binding.action
            key_style = "bold $footer-key-foreground" if enabled else "dim"
            part = Content.assemble((f" {key} ", key_style), (description, "" if enabled else "dim"), " ")
            keys.append((part, binding.action, node))
        self._keys = keys
        self._lay_out()

    def _lay_out(self) -> None:
        """Put the keys on lines no wider than the bar (one line while the width is unknown)."""
        width = self.size.width
        rows: list[list[Content]] = [[Content(" ")]]
        spans: list[tuple[int, int, int, str, Any]] = []
        offset = 1
        for part, action, node in self._keys:
            if width and offset > 1 and offset + part.cell_length - 1 > width:  # its last cell is a space
                rows.append([Content(" ")])
                offset = 1
            spans.append((len(rows) - 1, offset, offset + part.cell_length, action, node))
            rows[-1].append(part)
            offset += part.cell_length
        line = Content("\n").join(Content.assemble(*row) for row in rows)
        self._spans = spans
        if line != self._line:
            self._line = line
            self.update(line)
        # a set height, not "auto": a new height while a layout is pending would be lost (a no-op
        # when it has not changed)
        self.styles.height = len(rows)

    async def _on_click(self, event: events.Click) -> None:
        for row, start, end, action, node in self._spans:
            if row == event.y and start <= event.x < end:
                event.stop()
                await self.app.run_action(action, node)
                return
