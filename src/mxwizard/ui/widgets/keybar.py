"""The key bar at the foot of every screen: the few keys that matter now, on one line.

Textual's own Footer rebuilds one widget per key whenever the focus moves, and that costs a layout
pass of the whole screen on every tab switch: half the time between a key press and the repainted
screen. This bar is a single line of text. When the keys change it shows the new line; when they do
not (most focus moves) it does nothing at all. A click on a key runs its action, so the mouse works
too, but nothing needs it.
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
        #: Where each key sits on the line: (first cell, last cell + 1, action, the node it belongs to).
        self._spans: list[tuple[int, int, str, Any]] = []

    def on_mount(self) -> None:
        """Follow the screen's bindings from now on."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        """Stop following them."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        parts: list[Content] = []
        spans: list[tuple[int, int, str, Any]] = []
        seen: set[str] = set()
        offset = 1
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
            spans.append((offset, offset + part.cell_length, binding.action, node))
            offset += part.cell_length
            parts.append(part)
        line = Content.assemble(" ", *parts)
        self._spans = spans
        if line != self._line:
            self._line = line
            self.update(line)

    async def _on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                event.stop()
                await self.app.run_action(action, node)
                return
