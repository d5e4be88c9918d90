"""The verdict: the headline answer, the findings grouped by whose side they are on, and each fix
with its exact record, ready to copy. Export, saving the session (``s``, the step-through's
dialog) and "new check" start here too, and the lesson keys of the details (``p``, ``l``) work.

Used for every kind of diagnosis, including a bounce explained by the bounce screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, Static

from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.checks import question
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.screens.finding import FindingScreen
from mxwizard.ui.screens.result_keys import open_result_screen, result_commands, result_key_enabled
from mxwizard.ui.widgets.findings import FindingsView
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.status import status_badge


class VerdictScreen(WizardScreen):
    """The answer to the user's question, with what to do about it."""

    HELP_TOPIC = "verdict"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Details"),
        Binding("c", "copy_fix", "Copy fix"),
        Binding("e", "export", "Export"),
        Binding("s", "save", "Save"),
        Binding("n", "new_check", "New check"),
        # the lesson keys of the details screen work here too (a run lands on this screen)
        Binding("p", "replay", "SMTP steps", show=False),
        Binding("l", "dns_lesson", "DNS steps", show=False),
        Binding("k", "checklist", "Checklist"),
    ]

    def __init__(self, title: str, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.check_title = title
        self.diagnosis = diagnosis

    def compose(self) -> ComposeResult:
        verdict = self.diagnosis.verdict
        yield Header()
        headline = Content.assemble(
            (question(self.diagnosis.kind, self.diagnosis.target, limit=120), "bold"), "\n",
            status_badge(verdict.status), " ", (visible(verdict.summary, 300), "bold"),
        )
        if verdict.where:
            headline = Content.assemble(headline, "\n", ("Where to look: ", "$text-muted"),
                                        verdict.where)
        yield Static(headline, id="verdict-headline")
        yield FindingsView(grouped=True, id="verdict-findings")
        yield KeyBar()

    def on_mount(self) -> None:
        """Fill the grouped list and put the keyboard on it."""
        self.sub_title = self.check_title
        findings = self.query_one(FindingsView)
        findings.show_all(self.diagnosis.findings)
        findings.option_list.focus()

    @on(FindingsView.Chosen)
    def open_finding(self, message: FindingsView.Chosen) -> None:
        """A finding chosen in the list: open it on a whole screen, where the arrows scroll to
        the end."""
        self.app.push_screen(FindingScreen(message.finding))

    def action_back(self) -> None:
        """Back to the details (the diagnosis screen, or the bounce text)."""
        self.dismiss()

    def action_copy_fix(self) -> None:
        """Copy the highlighted finding's fix (the exact record or setting)."""
        self.wizard.copy_fix(self.query_one(FindingsView).current)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys whose screen would be empty stay out of the key bar: no session to save or step
        through (a bounce), no DNS lookups, no checklist (only send checks have one)."""
        shared = result_key_enabled(action, self.diagnosis)
        return True if shared is None else shared

    def action_save(self) -> None:
        """Save the session (SMTP and DNS) to a JSON file, in the step-through's dialog."""
        open_result_screen(self.app, "save", self.check_title, self.diagnosis)

    def action_replay(self) -> None:
        """Step through the SMTP sessions one command per key press (as p on the details)."""
        open_result_screen(self.app, "replay", self.check_title, self.diagnosis)

    def action_dns_lesson(self) -> None:
        """Walk the DNS lookups one per key press (as l on the details)."""
        open_result_screen(self.app, "dns_lesson", self.check_title, self.diagnosis)

    def action_checklist(self) -> None:
        """The big providers' sender rules, one row each (send checks)."""
        open_result_screen(self.app, "checklist", self.check_title, self.diagnosis)

    def action_export(self) -> None:
        """Save or copy the whole report."""
        from mxwizard.ui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(self.diagnosis))

    def action_new_check(self) -> None:
        """Back to the welcome screen (this result stays available there with l)."""
        self.wizard.go_home()

    def palette_commands(self) -> list[PaletteCommand]:
        """The verdict's actions."""
        return [
            ("Export the report", "Save as Markdown or JSON, or copy it", self.action_export),
            ("Copy the fix", "Copy the highlighted finding's fix", self.action_copy_fix),
            ("New check", "Back to the start", self.action_new_check),
            *result_commands(self.app, self.check_title, self.diagnosis),
        ]
