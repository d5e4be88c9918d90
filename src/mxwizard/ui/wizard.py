"""What the screens may ask of the wizard, as a protocol: the screens depend on this, not on the
app module, so that :mod:`mxwizard.ui.app` imports the screens and no screen imports the app.

:class:`~mxwizard.ui.app.WizardApp` is the one implementation; a screen reaches it through
:attr:`mxwizard.ui.screens.base.WizardScreen.wizard`. What a screen needs to do its own work (the
plan and settings of a diagnosis, the check of a form) it receives when it is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mxwizard.core.settings import Settings

if TYPE_CHECKING:  # the first screen must not wait for the diagnosis engine to load
    from mxwizard.core.findings import Finding
    from mxwizard.diagnosis.result import Diagnosis
    from mxwizard.diagnosis.tree import Plan
    from mxwizard.lab.scenarios import Scenario


@dataclass(frozen=True)
class Result:
    """A finished diagnosis with what is needed to show it again or run it again."""

    title: str
    diagnosis: Diagnosis
    #: The plan it ran (None for an explained bounce, which has no steps).
    plan: Plan | None = None
    settings: Settings | None = None


class Wizard(Protocol):
    """The app as the screens see it: the settings and the lab, what is remembered while it
    runs, and where to go next."""

    #: The settings every check runs with (pointed at the lab once it is up).
    settings: Settings
    #: Whether the lab was asked for, the running lab (None without it), and why it could not
    #: start ("" when it did, or was not asked for).
    want_lab: bool
    world: Any
    lab_problem: str
    #: Set once the lab has started (or failed to), or at once without the lab.
    lab_ready: asyncio.Event
    #: A choice made on the welcome screen while the lab was still starting.
    pending_choice: str | None
    #: The lab's scenarios (the lessons).
    scenarios: Sequence[Scenario]
    #: The values typed into each form, by check kind, and what was pasted on the bounce screen.
    form_values: dict[str, dict[str, str]]
    bounce_text: str
    #: The last finished diagnosis.
    last_result: Result | None

    def open_choice(self, choice: str) -> None:
        """Open the screen for a symptom picked on the welcome screen."""

    def open_scenario(self, scenario: Scenario) -> None:
        """Open the form of a lab scenario's check, filled in with its inputs."""

    def remember_form(self, kind: str, values: dict[str, str]) -> None:
        """Keep a form's values (and save them for the next run, outside the lab)."""

    def start_diagnosis(self, title: str, plan: Plan,
                        overrides: dict[str, object] | None = None) -> None:
        """Open the diagnosis screen and run ``plan`` with the app's settings."""

    def fresh_lab_run(self) -> None:
        """Before each run of a check: the lab forgets what its hosts learnt."""

    def remember_result(self, result: Result) -> None:
        """Keep the last finished diagnosis."""

    def show_last_result(self) -> None:
        """Open the last finished diagnosis again."""

    def go_home(self) -> None:
        """Back to the welcome screen."""

    def copy_fix(self, finding: Finding | None) -> None:
        """Copy a finding's fix to the clipboard, and say so."""

    def when_lab_ready(self, action: Callable[[], object]) -> None:
        """Do ``action`` now, or as soon as the lab has started."""
