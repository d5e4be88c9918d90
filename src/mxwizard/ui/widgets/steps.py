"""The decision path: every step of the plan with a live glyph-and-word status.

The steps are known before anything runs (they are the plan), so the list is complete from the
start and fills in as the runner reports. Highlighting a step tells the screen to show its
"why this matters"; the screen also jumps here from the command palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from mxwizard.core.findings import Status
from mxwizard.ui.widgets.status import RUNNING, SKIPPED, STOPPED, WAITING, state_badge, status_badge


@dataclass
class StepRow:
    """What the list knows about one step."""

    id: str
    title: str
    why: str
    state: str = WAITING
    status: Status | None = None

    def prompt(self) -> Content:
        """The row: badge then title (titles come from the plan, still never parsed as markup)."""
        badge = status_badge(self.status) if self.status is not None else state_badge(self.state)
        return Content.assemble(badge, " ", self.title)


class StepList(OptionList):
    """The plan's steps, top to bottom, each with its live status."""

    def __init__(self, rows: list[StepRow], *, id: str | None = None) -> None:
        self.rows = {row.id: row for row in rows}
        super().__init__(*[Option(row.prompt(), id=row.id) for row in rows], id=id)

    def _refresh_row(self, row: StepRow) -> None:
        self.replace_option_prompt(row.id, row.prompt())

    def started(self, step: str) -> None:
        """The runner began this step."""
        row = self.rows.get(step)
        if row is not None:
            row.state = RUNNING
            self._refresh_row(row)

    def finished(self, step: str, status: Status | None, skipped: bool) -> None:
        """The runner finished (or skipped) this step."""
        row = self.rows.get(step)
        if row is not None:
            row.state = SKIPPED if skipped else row.state
            row.status = None if skipped else status
            self._refresh_row(row)

    def stopped(self) -> None:
        """The diagnosis was stopped: unfinished steps say so instead of "running" forever."""
        for row in self.rows.values():
            if row.status is None and row.state in (WAITING, RUNNING):
                row.state = STOPPED
                self._refresh_row(row)

    def done_count(self) -> int:
        """How many steps have finished or been skipped."""
        return sum(1 for row in self.rows.values() if row.status is not None or row.state == SKIPPED)
