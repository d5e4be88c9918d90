"""The sender checklist: Gmail's, Yahoo's and Outlook.com's published rules for senders, one row
each, and how this send check fares against every one of them (pass, FAIL, not checkable).

The rows are the diagnosis's own (:attr:`~mxwizard.diagnosis.result.Diagnosis.checklist`, judged
by the checklist rules, the same rows as the report's ``checklist``): this screen only shows them,
grouped by provider, with the highlighted row's reason, published source and fix below. Enter
opens a row on a whole screen, for fixes longer than the pane. Spam-complaint rates cannot be
measured from outside; the note at the top says so, and where each provider shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.core.findings import Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.ui.screens.base import WizardScreen
from mxwizard.ui.widgets.findings import side_heading
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.status import checklist_badge

if TYPE_CHECKING:
    from mxwizard.diagnosis.rules.checklist import ChecklistRow

#: The finding that says why spam rates are not in the checklist, and where to read them.
SPAM_RATE_FINDING = "checklist.spam-rate"


def _lines(text: str) -> str:
    return "\n".join(visible(line, 400) for line in text.splitlines())


def row_prompt(row: ChecklistRow) -> Content:
    """One line of the table: the status and the rule (the provider is the group's heading)."""
    return Content.assemble(checklist_badge(row.status), " ", visible(row.rule, 200))


def row_detail(row: ChecklistRow, hint: str = "") -> Content:
    """Everything about one row: status, provider and rule, why, the source and the fix
    (plain content, never markup: the reason can quote what a server said)."""
    parts: list[str | Content | tuple[str, str]] = [
        checklist_badge(row.status), " ", (visible(row.provider, 60), "bold"), "\n",
        (visible(row.rule, 300), "bold"), "\n",
    ]
    if row.detail:
        parts += [("Why: ", "$text-muted"), _lines(row.detail), "\n"]
    parts += [("Source: ", "$text-muted"), visible(row.source, 400), "\n"]
    if row.fix:
        parts += [("Fix", "bold underline"), hint, "\n", _lines(row.fix), "\n"]
    return Content.assemble(*parts)


class ChecklistScreen(WizardScreen):
    """The big providers' sender rules as a table grouped by provider, the highlighted row in
    full below it."""

    HELP_TOPIC = "checklist"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, title: str, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.check_title = title
        self.diagnosis = diagnosis
        #: The option id of each row, in the diagnosis's order.
        self.rows: dict[str, ChecklistRow] = {
            f"row{index}": row for index, row in enumerate(diagnosis.checklist)}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._spam_rate_note(), id="checklist-note")
        yield OptionList(*self._options(), id="checklist-rows")
        with VerticalScroll(id="checklist-detail-scroll"):
            yield Static(Content("No row highlighted."), id="checklist-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        """The first row highlighted, and the keyboard on the table."""
        self.sub_title = f"Sender checklist · {self.check_title}"
        table = self.query_one("#checklist-rows", OptionList)
        first = next((i for i in range(table.option_count)
                      if not table.get_option_at_index(i).disabled), None)
        if first is not None:
            table.highlighted = first
        table.focus()

    def _options(self) -> list[Option]:
        options: list[Option] = []
        provider: str | None = None
        for key, row in self.rows.items():
            if row.provider != provider:
                provider = row.provider
                options.append(side_heading(visible(provider, 60)))
            options.append(Option(row_prompt(row), id=key))
        return options

    def _spam_rate_note(self) -> Content:
        """Why spam rates are not judged here, and where to read them (the diagnosis's own
        finding says it)."""
        finding = next((f for f in self.diagnosis.findings if f.id == SPAM_RATE_FINDING), None)
        if finding is None:  # the checklist's rules always add it; nothing is written here instead
            return Content("")
        parts: list[str | tuple[str, str]] = [
            (f"{Status.INFO.glyph} ", "$text-primary"), (visible(finding.title, 200), "bold")]
        if finding.fix:
            parts += ["\n", (_lines(finding.fix), "$text-muted")]
        return Content.assemble(*parts)

    @property
    def current(self) -> ChecklistRow | None:
        """The highlighted row, if any."""
        option = self.query_one("#checklist-rows", OptionList).highlighted_option
        return self.rows.get(option.id or "") if option is not None else None

    @on(OptionList.OptionHighlighted, "#checklist-rows")
    def show_row(self, event: OptionList.OptionHighlighted) -> None:
        """Show the highlighted row's reason, source and fix below the table."""
        row = self.rows.get(event.option.id or "")
        if row is not None:
            self.query_one("#checklist-detail", Static).update(
                row_detail(row, "  (Enter shows the whole row)"))
            self.query_one("#checklist-detail-scroll", VerticalScroll).scroll_home(animate=False)

    @on(OptionList.OptionSelected, "#checklist-rows")
    def open_row(self, event: OptionList.OptionSelected) -> None:
        """Enter on a row: show it on a whole screen, where the arrows scroll to the end."""
        row = self.rows.get(event.option.id or "")
        if row is not None:
            self.app.push_screen(ChecklistRowScreen(row))

    def action_back(self) -> None:
        """Back to where the checklist was opened (the verdict or the details)."""
        self.dismiss()


class ChecklistRowScreen(WizardScreen):
    """One checklist row in full, scrolled with the arrow keys."""

    HELP_TOPIC = "checklist"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, row: ChecklistRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="checklist-row-scroll"):
            yield Static(row_detail(self.row), id="checklist-row")
        yield KeyBar()

    def on_mount(self) -> None:
        """Arrows scroll from the start."""
        self.sub_title = f"Sender checklist · {visible(self.row.provider, 60)}"
        self.query_one(VerticalScroll).focus()

    def action_back(self) -> None:
        """Back to the table."""
        self.dismiss()
