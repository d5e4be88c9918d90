"""The DNS lookups view: every question the diagnosis asked, dig-style, as it comes back.

Each lookup is shown by :func:`mxwizard.render.dnsview.render_lookup` (records already made visible)
followed by the ``dig`` command that repeats it, so an administrator can check the wizard's work.
Written as plain content, never as markup (TXT records are written by strangers), and re-wrapped
whenever the view changes width.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from mxwizard.core.untrusted import visible
from mxwizard.probes.dns import Lookup
from mxwizard.render.dnsview import dig_command, render_lookup


def lookup_content(lookup: Lookup) -> Content:
    """One lookup: the dig-style block, then the command that repeats it."""
    return Content.assemble(
        render_lookup(lookup), "\n", (f";; repeat it: {visible(dig_command(lookup), 300)}", "$text-muted"))


class DnsView(VerticalScroll):
    """A scrolling list of DNS lookups, newest at the bottom."""

    DEFAULT_CSS = """
    DnsView > Static { margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.count = 0

    def add_lookup(self, lookup: Lookup) -> None:
        """Append one lookup (and follow it, unless the user scrolled up)."""
        follow = self.scroll_y >= self.max_scroll_y
        self.count += 1
        self.mount(Static(lookup_content(lookup), classes="lookup"))
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def show_all(self, lookups: list[Lookup]) -> None:
        """Show every lookup of a finished diagnosis, in the order they were sent."""
        self.remove_children()
        self.count = 0
        for lookup in sorted(lookups, key=lambda lookup: lookup.t_ms):
            self.add_lookup(lookup)
