"""Lessons: the lab's scenarios, each a situation from the postmaster's FAQ, ready to diagnose.

Picking one opens the matching form filled in with the scenario's arguments; running it shows the
decision path and the annotated SMTP conversation against the lab's servers; from there ``p``
steps through the conversation one command at a time and ``l`` walks the DNS lookups. The button
above the list (or ``o``) replays a saved session (or a ``check --format json`` report) from a
file, step by step or at a chosen speed; it works without the lab too. Without ``--lab`` this
screen explains how to start the lab.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Button, Header, OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.core.untrusted import visible
from mxwizard.replay.session_files import Session
from mxwizard.ui.screens.base import WizardScreen
from mxwizard.ui.widgets.keybar import KeyBar


def scenario_prompt(scenario: Any) -> Content:
    """One scenario as a list row: name and kind, then its summary."""
    return Content.assemble(
        (visible(str(scenario.name), 60), "bold"), (f"  [{visible(str(scenario.kind), 20)}]", "$text-muted"),
        "\n  ", visible(str(scenario.summary), 300),
    )


class LessonsScreen(WizardScreen):
    """Pick a lab scenario to diagnose."""

    HELP_TOPIC = "lessons"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("o", "open_saved", "Replay a saved session"),
    ]

    def _replay_button(self) -> Button:
        return Button("▶ Replay a saved session… (o)", id="lessons-replay", compact=True)

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
            yield self._replay_button()
        else:
            yield Static(Content.assemble(
                ("Lessons", "bold"), " — pick a situation and run the check; then p steps through "
                "the SMTP session one command at a time, l walks the DNS lookups.",
            ), id="lessons-intro")
            yield self._replay_button()
            yield OptionList(
                *[Option(scenario_prompt(s), id=str(i)) for i, s in enumerate(scenarios)],
                id="lessons-list",
            )
        yield KeyBar()

    def on_mount(self) -> None:
        """Focus the list if there is one."""
        for option_list in self.query(OptionList):
            option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Open the scenario's check, filled in."""
        event.stop()
        if event.option.id is not None:
            self.wizard.open_scenario(self.wizard.scenarios[int(event.option.id)])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The replay button."""
        event.stop()
        self.action_open_saved()

    def action_open_saved(self) -> None:
        """Ask for a session file and a speed, then replay it."""
        from mxwizard.ui.screens.lesson_files import OpenSessionScreen

        self.app.push_screen(OpenSessionScreen(), callback=self._replay)

    def _replay(self, chosen: tuple[Session, float | None] | None) -> None:
        if chosen is None:
            return
        from mxwizard.ui.screens.replay import ReplayScreen

        session, speed = chosen
        self.app.push_screen(ReplayScreen(f"Saved session: {session.title}", session, speed=speed))

    def action_back(self) -> None:
        """Back to the welcome screen."""
        self.dismiss()
