"""The DNS lesson: a check's DNS lookups, one per key press, the way ``dig`` shows them.

Before each lookup the class reads what we ask and why (MX: where does the domain's mail go;
A/AAAA: where is the mail host; PTR: which name does the address claim; TXT: SPF, DMARC or a DKIM
key; a blocklist: is the address listed). A key press shows the question and its answer as dig
prints them (:mod:`mxwizard.render.dnsview`, with the dig command that repeats it), and the status says
what the answer means, keeping "no such name" (NXDOMAIN), "no such record" (NODATA), "the server
failed" (SERVFAIL) and "nobody answered" (timeout) apart.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, Static

from mxwizard.core.untrusted import visible
from mxwizard.probes.dns import Lookup
from mxwizard.replay.lesson_steps import dns_after, dns_before
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.widgets.dns import DnsView
from mxwizard.ui.widgets.keybar import KeyBar


class DnsLessonScreen(WizardScreen):
    """Steps through DNS lookups one by one, each asked, shown and explained."""

    HELP_TOPIC = "dns-lesson"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("space,n", "next", "Next lookup"),
        Binding("backspace,p", "previous", "Previous"),
        Binding("a", "all", "All", show=False),
        Binding("r", "restart", "Start again", show=False),
    ]

    def __init__(self, title: str, lookups: list[Lookup]) -> None:
        super().__init__()
        self.check_title = title
        #: The lookups in the order they were sent.
        self.lookups = sorted(lookups, key=lambda lookup: lookup.t_ms)
        #: How many lookups are shown.
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="dns-lesson-meaning")
        yield Static(id="dns-lesson-next")
        yield DnsView(id="dns-lesson-lookups")
        yield KeyBar()

    def on_mount(self) -> None:
        """Start before the first lookup."""
        self.sub_title = f"{self.check_title}: DNS lesson"
        self.query_one(DnsView).focus()
        self._refresh_status()

    def _show(self, count: int) -> None:
        count = max(0, min(count, len(self.lookups)))
        view = self.query_one(DnsView)
        if count < self.shown:
            view.show_all(self.lookups[:count])
        else:
            for lookup in self.lookups[self.shown:count]:
                view.add_lookup(lookup)
        self.shown = count
        view.call_after_refresh(view.scroll_end, animate=False)
        self._refresh_status()

    def _refresh_status(self) -> None:
        total = len(self.lookups)
        meaning = self.query_one("#dns-lesson-meaning", Static)
        upcoming = self.query_one("#dns-lesson-next", Static)
        if not self.lookups:
            meaning.update(Content("This check asked no DNS questions."))
            upcoming.update(Content("Escape goes back."))
            return
        if self.shown:
            lookup = self.lookups[self.shown - 1]
            head, body = dns_after(lookup)
            meaning.update(Content.assemble(
                (f"Lookup {self.shown} of {total} · {visible(lookup.qname, 60)} {lookup.qtype} · ",
                 "$text-muted"), (head, "bold"), "\n", body))
        else:
            meaning.update(Content.assemble(
                ("DNS lesson: ", "bold"), visible(self.check_title, 120),
                f" — {total} lookup{'s' if total > 1 else ''}, in the order the check asked them. "
                "Each is shown the way dig prints it, with the dig command that repeats it."))
        if self.shown < total:
            head, why = dns_before(self.lookups[self.shown])
            upcoming.update(Content.assemble(
                (f"Lookup {self.shown + 1} of {total} · ", "$text-muted"),
                ("Next (Space): ", "bold $text-accent"), (head, "bold"), "\n", why))
        else:
            upcoming.update(Content.assemble(
                ("■ That was every lookup. ", "bold"), "Backspace goes back one, r starts again."))

    def action_next(self) -> None:
        """Ask the next question."""
        self._show(self.shown + 1)

    def action_previous(self) -> None:
        """Take the last lookup away again."""
        self._show(self.shown - 1)

    def action_all(self) -> None:
        """Every lookup at once."""
        self._show(len(self.lookups))

    def action_restart(self) -> None:
        """Back to before the first lookup."""
        self._show(0)

    def action_back(self) -> None:
        """Back to where the lesson was opened."""
        self.dismiss()

    def palette_commands(self) -> list[PaletteCommand]:
        """The lesson's keys, for those who prefer the palette."""
        return [("Next lookup", "Ask the next DNS question", self.action_next),
                ("All lookups", "Show every lookup at once", self.action_all),
                ("Start again", "Back to before the first lookup", self.action_restart)]
