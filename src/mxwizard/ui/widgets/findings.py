"""The findings list with a detail pane: what was judged, and for the highlighted finding why,
how to fix it (the exact record) and what the judgement rests on.

Used live on the diagnosis screen (findings in the order they are made) and on the verdict screen
(grouped by whose side the fault is on). Titles, details, fixes and evidence can quote remote
text (a banner, a TXT record), so every piece is sanitised and handed over as plain content.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.core.findings import Finding, Status, grouped
from mxwizard.core.untrusted import visible
from mxwizard.ui.widgets.status import status_badge


def _lines(text: str) -> list[str]:
    return [visible(line, 400) for line in text.splitlines()]


def finding_prompt(finding: Finding) -> Content:
    """One row of the list: badge and title."""
    return Content.assemble(status_badge(finding.status), " ", visible(finding.title, 200))


def finding_detail(finding: Finding) -> Content:
    """Everything about one finding, for the detail pane (plain content, never markup)."""
    parts: list[str | Content | tuple[str, str]] = [
        status_badge(finding.status), " ", (visible(finding.title, 300), "bold"), "\n",
        (f"{finding.side.label} · {finding.id}", "$text-muted"), "\n",
    ]
    if finding.detail:
        parts += ["\n", "\n".join(_lines(finding.detail)), "\n"]
    if finding.fix and finding.status is not Status.PASS:
        parts += ["\n", ("Fix", "bold underline"), "  (c copies it)\n", "\n".join(_lines(finding.fix)), "\n"]
    if finding.evidence:
        parts += ["\n", ("Evidence", "bold underline"), "\n"]
        parts += ["\n".join(visible(line, 400) for line in finding.evidence), "\n"]
    return Content.assemble(*parts)


def side_heading(text: str) -> Option:
    """A heading row (disabled, so the cursor skips it)."""
    return Option(Content.assemble((f"── {text} ", "bold")), disabled=True)


class FindingsView(Vertical):
    """A list of findings and, below it, the highlighted one in full."""

    @dataclass
    class Chosen(Message):
        """Enter on a finding: the screen shows it on a whole screen of its own."""

        finding: Finding

    DEFAULT_CSS = """
    FindingsView { height: 1fr; }
    FindingsView > OptionList { height: 1fr; min-height: 3; }
    FindingsView > VerticalScroll { height: 1fr; min-height: 4; border-top: solid $panel; padding: 0 1; }
    """

    def __init__(self, *, grouped: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grouped = grouped
        self.findings: list[Finding] = []
        self._by_option: dict[str, Finding] = {}
        # The detail pane, held rather than looked up: the list's highlight messages can arrive
        # while the pane is not in the DOM (its scroll container mounts it on its own schedule,
        # and removes it first when the screen goes), and a query would then raise NoMatches.
        # Updating a widget that is not (or no longer) mounted is harmless.
        self._detail = Static(Content("Nothing found yet."), id="finding-detail")
        self._detail_scroll = VerticalScroll(id="finding-detail-scroll")

    def compose(self) -> ComposeResult:
        yield OptionList(id="finding-list")
        with self._detail_scroll:
            yield self._detail

    @property
    def option_list(self) -> OptionList:
        """The list part (for focusing)."""
        return self.query_one("#finding-list", OptionList)

    @property
    def current(self) -> Finding | None:
        """The highlighted finding, if any."""
        option = self.option_list.highlighted_option
        if option is None or option.id is None:
            return None
        return self._by_option.get(option.id)

    def add(self, finding: Finding) -> None:
        """Append a finding as it is made (live mode)."""
        key = f"f{len(self.findings)}"
        self.findings.append(finding)
        self._by_option[key] = finding
        option_list = self.option_list
        option_list.add_option(Option(finding_prompt(finding), id=key))
        if option_list.highlighted is None:
            option_list.highlighted = 0

    def show_all(self, findings: list[Finding]) -> None:
        """Replace the list with ``findings``, grouped by side when this view is grouped."""
        self.findings = list(findings)
        self._by_option = {}
        options: list[Option] = []
        if self.grouped:
            for heading, group in grouped(findings):
                options.append(side_heading(heading))
                options += [self._option(f) for f in group]
        else:
            options = [self._option(f) for f in findings]
        option_list = self.option_list
        option_list.clear_options()
        option_list.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        if first is not None:
            option_list.highlighted = first

    def _option(self, finding: Finding) -> Option:
        key = f"f{len(self._by_option)}"
        self._by_option[key] = finding
        return Option(finding_prompt(finding), id=key)

    def select_step(self, step: str) -> bool:
        """Highlight the first finding of ``step``; False when it has none."""
        option_list = self.option_list
        for index in range(option_list.option_count):
            option = option_list.get_option_at_index(index)
            finding = self._by_option.get(option.id or "")
            if finding is not None and finding.step == step:
                option_list.highlighted = index
                return True
        return False

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a finding: say it was chosen (the screen opens it in full)."""
        event.stop()
        finding = self._by_option.get(event.option.id or "")
        if finding is not None:
            self.post_message(self.Chosen(finding))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Show the highlighted finding in full."""
        event.stop()
        finding = self._by_option.get(event.option.id or "")
        if finding is not None:
            self._detail.update(finding_detail(finding))
            if self._detail_scroll.is_mounted:  # a pane not yet shown starts at the top anyway
                self._detail_scroll.scroll_home(animate=False)
