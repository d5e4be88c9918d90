"""Lessons: the lab's scenarios, each a situation from the postmaster's FAQ, ready to diagnose.

Picking one opens the matching form filled in with the scenario's arguments; running it shows the
decision path and the annotated SMTP conversation against the lab's servers. Without ``--lab``
this screen explains how to start the lab instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.ui.screens.base import WizardScreen
from mxwizard.untrusted import visible


def scenario_prompt(scenario: Any) -> Content:
    """One scenario as a list row: name and kind, then its summary."""
    return Content.assemble(
        (visible(str(scenario.name), 60), "bold"), (f"  [{visible(str(scenario.kind), 20)}]", "$text-muted"),
        "\n  ", visible(str(scenario.summary), 300),
    )


class LessonsScreen(WizardScreen):
    """Pick a lab scenario to diagnose."""

    HELP_TOPIC = "lessons"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        scenarios = self.wizard.scenarios
        if self.wizard.world is None:
            problem: list[str | Content | tuple[str, str]] = (
                ["\n\n", ("! ", "bold $text-error"), self.wizard.lab_problem]
                if self.wizard.lab_problem else [])
            yield Static(Content.assemble(
                ("Lessons need the built-in lab", "bold"), "\n\n",
                "The lab is a miniature mail internet on this machine: DNS, mail servers that are "
                "healthy, broken or hostile, and a scenario for each common problem. Start the "
                "wizard with\n\n    mxwizard --lab\n\nto use it. Nothing leaves this machine.",
                *problem,
            ), id="lessons-intro")
        else:
            yield Static(Content.assemble(
                ("Lessons", "bold"), " — pick a situation, then run the check on it and read the "
                "SMTP transcript line by line.",
            ), id="lessons-intro")
            yield OptionList(
                *[Option(scenario_prompt(s), id=str(i)) for i, s in enumerate(scenarios)],
                id="lessons-list",
            )
        yield Footer()

    def on_mount(self) -> None:
        """Focus the list if there is one."""
        for option_list in self.query(OptionList):
            option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Open the scenario's check, filled in."""
        event.stop()
        if event.option.id is not None:
            self.wizard.open_scenario(self.wizard.scenarios[int(event.option.id)])

    def action_back(self) -> None:
        """Back to the welcome screen."""
        self.dismiss()
