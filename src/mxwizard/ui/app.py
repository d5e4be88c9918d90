"""The wizard application: a small App that owns the settings, the lab and what is remembered;
every screen lives in its own module under ``ui/screens``.

``run_app`` is what ``mxwizard`` and ``mxwizard --lab`` call. With the lab, the lab's DNS and SMTP
servers run inside the app's own event loop for as long as the app runs, and every check is
pointed at them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from mxwizard.core.settings import Settings
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.checks import CHECKS
from mxwizard.ui import form_memory as memory
from mxwizard.ui.commands import WizardCommands
from mxwizard.ui.screens.base import PaletteCommand
from mxwizard.ui.wizard import Result, Wizard

if TYPE_CHECKING:  # the first screen must not wait for the diagnosis engine to load
    from mxwizard.core.findings import Finding
    from mxwizard.diagnosis.tree import Plan
    from mxwizard.lab.scenarios import Scenario


#: Makes the lab: an async context manager yielding a world with ``point`` and ``scenarios``.
LabFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


#: In a 16-colour terminal the theme's text shades of success and error are both reduced to the
#: same grey, so pass and FAIL would differ by glyph alone, and the border of a field without focus
#: to the screen's black. There these variables take the theme's colours named here instead, which
#: stay apart (green, red, grey).
SIXTEEN_COLOUR_VARIABLES = {"text-success": "success", "text-error": "error", "border-blurred": "panel"}


def clipboard_note(size: int, file_hint: str) -> str:
    """What a copy really did: the text went to the terminal as an OSC 52 request, which the
    terminal (or tmux, or SSH's client) may drop without a word; so say that, and how to fix it."""
    where = ("tmux drops it unless you run: tmux set -g set-clipboard on"
             if os.environ.get("TMUX") else
             "some terminals ignore it (then allow clipboard access in their settings)")
    return (f"Sent {size} characters to your terminal's clipboard (OSC 52); {where}. "
            f"If nothing arrives, {file_hint}.")


class WizardApp(App[int]):
    """mxwizard's terminal user interface (the :class:`~mxwizard.ui.wizard.Wizard` its screens
    see)."""

    CSS_PATH = "app.tcss"
    TITLE = "mxwizard"
    SUB_TITLE = "why doesn't my mail get through?"
    COMMANDS = App.COMMANDS | {WizardCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
    ]
    #: Under 80 columns every screen has the class ``-narrow``, under 24 rows ``-short``:
    #: app.tcss lays them out tighter there, so nothing is cut at 60×18. (Textual types these as
    #: lists, and mypy will not let a ClassVar annotation override its declaration.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]  # noqa: RUF012
    #: True in a terminal with only 16 colours (TERM=xterm, no COLORTERM): see
    #: :data:`SIXTEEN_COLOUR_VARIABLES`. Never in headless tests, whose pictures are true colour.
    sixteen_colours = False

    def __init__(self, settings: Settings, lab: bool = False, *, lab_factory: LabFactory | None = None,
                 remember: bool = True) -> None:
        super().__init__()
        if not os.environ.get("TEXTUAL_ANIMATIONS"):
            # No animation unless the user asks for it (TEXTUAL_ANIMATIONS=full): over SSH every
            # frame is bytes on the wire, and the tab underline's 0.3 s glide repainted the screen
            # some 18 times after each tab key, so the next key press waited behind it.
            self.animation_level = "none"
        #: The settings every check runs with (pointed at the lab once it is up).
        self.settings = settings
        self.want_lab = lab
        self._lab_factory = lab_factory
        self._lab_stack = contextlib.AsyncExitStack()
        #: The running lab, when there is one.
        self.world: Any = None
        #: Why the lab could not start (shown on the welcome screen), empty when all is well.
        self.lab_problem = ""
        #: The lab's scenarios (the lessons).
        self.scenarios: Sequence[Scenario] = ()
        self._save_forms = remember and not lab
        #: The values typed into each form, by check kind (kept while the app runs).
        self.form_values: dict[str, dict[str, str]] = memory.load() if self._save_forms else {}
        #: What was pasted on the bounce screen.
        self.bounce_text = ""
        #: The last finished diagnosis, kept so that leaving its screens never loses it.
        self.last_result: Result | None = None
        #: Set once the lab has started (or failed to), or at once without the lab.
        self.lab_ready = asyncio.Event()
        #: A choice made on the welcome screen while the lab was still starting (opened then).
        self.pending_choice: str | None = None

    async def on_mount(self) -> None:
        """Show the welcome screen at once; the lab, if asked for, starts behind it."""
        from mxwizard.ui.screens.welcome import WelcomeScreen

        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.sixteen_colours = True
            self.refresh_css(animate=False)
        await self.push_screen(WelcomeScreen())
        if self.want_lab:
            self.run_worker(self._start_lab(), group="lab", exit_on_error=False)
        else:
            self.lab_ready.set()

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables; in a 16-colour terminal, status colours that stay apart."""
        variables = super().get_css_variables()
        if self.sixteen_colours:
            variables.update({name: variables[theirs] for name, theirs in SIXTEEN_COLOUR_VARIABLES.items()})
        return variables

    async def _start_lab(self) -> None:
        """Start the lab without freezing the screen: its modules are imported and its zones
        parsed in a thread; only binding the servers happens on the event loop."""
        try:
            factory = self._lab_factory
            if factory is None:
                from mxwizard.core.config import lab_ports

                world_module = await asyncio.to_thread(importlib.import_module, "mxwizard.lab.world")
                zones = await asyncio.to_thread(world_module.lab_zones)
                port = lab_ports()
                factory = functools.partial(world_module.running_lab, zones=zones, dns_port=port,
                                            smtp_port=port, https_port=port)
            world = await self._lab_stack.enter_async_context(factory())
        except Exception as exc:  # the wizard stays usable without the lab
            self.lab_problem = f"The lab could not start: {visible(str(exc), 200)}"
        else:
            self.world = world
            self.settings = world.point(self.settings)
            self.scenarios = tuple(getattr(world, "scenarios", ()))
        finally:
            self.lab_ready.set()
        refresh = getattr(self.screen, "refresh_mode", None)
        if callable(refresh):
            refresh()

    def when_lab_ready(self, action: Callable[[], object]) -> None:
        """Do ``action`` now, or as soon as the lab has started (a check started in the first
        instant after launch must not run against the real network by mistake)."""
        if self.lab_ready.is_set():
            action()
            return

        async def wait() -> None:
            await self.lab_ready.wait()
            action()

        self.run_worker(wait(), group="lab-wait", exit_on_error=False)

    async def on_unmount(self) -> None:
        """Stop the lab's servers with the app."""
        await self._lab_stack.aclose()

    # --- navigation, used by the screens -------------------------------------------------------

    def open_choice(self, choice: str) -> None:
        """Open the screen for a symptom picked on the welcome screen.

        While the lab starts, the first choice waits for it and any further key is ignored:
        a newcomer pressing 2 and then Enter must get one form, not two stacked ones."""
        if choice != "bounce" and not self.lab_ready.is_set():
            if self.pending_choice is None:
                self.pending_choice = choice
                self.when_lab_ready(lambda: self._open_pending(choice))
                refresh = getattr(self.screen, "refresh_mode", None)
                if callable(refresh):
                    refresh()
            return
        if self.pending_choice is not None:  # a choice is already on its way
            return
        from mxwizard.ui.screens.bounce import BounceScreen
        from mxwizard.ui.screens.form import FormScreen
        from mxwizard.ui.screens.lessons import LessonsScreen

        if choice == "bounce":
            self.push_screen(BounceScreen())
        elif choice == "lessons":
            self.push_screen(LessonsScreen())
        elif choice in CHECKS:
            check = CHECKS[choice]
            values = self.form_values.get(choice)
            if not values:  # a first example from the lab: the required fields only, so that
                # no optional value (a DKIM selector, say) adds a finding nobody asked for
                scenario = next((s for s in self.scenarios if s.kind == choice), None)
                example = scenario.inputs if scenario is not None else {}
                values = {f.name: example[f.name] for f in check.fields
                          if f.required and f.name in example}
            self.push_screen(FormScreen(check, values))

    def _open_pending(self, choice: str) -> None:
        self.pending_choice = None
        self.open_choice(choice)

    def open_scenario(self, scenario: Scenario) -> None:
        """Open the form of a lab scenario's check, filled in with its inputs."""
        from mxwizard.ui.screens.form import PRIVATE_NETWORK, FormScreen

        expect = ", ".join(scenario.expect)
        lesson = f"Lesson '{visible(scenario.name, 60)}': {visible(scenario.summary, 300)}"
        if expect:
            lesson += f"\nThe check should find: {visible(expect, 300)}"
        values = dict(scenario.inputs)
        if scenario.network.private_network:
            values[PRIVATE_NETWORK] = "yes"
        self.push_screen(FormScreen(scenario.check, values, lesson=lesson))

    def remember_form(self, kind: str, values: dict[str, str]) -> None:
        """Keep a form's values, and save them for the next run (not in lab mode)."""
        self.form_values[kind] = dict(values)
        if self._save_forms:
            memory.save(kind, values)

    def start_diagnosis(self, title: str, plan: Plan, overrides: dict[str, object] | None = None) -> None:
        """Open the diagnosis screen and run ``plan`` with the app's settings (changed by
        ``overrides``, such as the lab's source address)."""
        from mxwizard.ui.screens.diagnosis import DiagnosisScreen

        if not self.lab_ready.is_set():
            self.when_lab_ready(lambda: self.start_diagnosis(title, plan, overrides))
            return
        settings = self.settings.with_changes(**overrides) if overrides else self.settings
        self.push_screen(DiagnosisScreen(title, plan, settings))

    def fresh_lab_run(self) -> None:
        """Before each run of a check: the lab forgets what its hosts learnt from earlier runs
        (greylisting), so a lesson shows its behaviour every time, not only the first."""
        fresh_run = getattr(self.world, "fresh_run", None)
        if callable(fresh_run):
            fresh_run()

    def remember_result(self, result: Result) -> None:
        """Keep the last finished diagnosis."""
        self.last_result = result

    def show_last_result(self) -> None:
        """Open the last finished diagnosis again: its details, with the verdict on top."""
        if self.last_result is None:
            return
        from mxwizard.ui.screens.diagnosis import DiagnosisScreen
        from mxwizard.ui.screens.verdict import VerdictScreen

        result = self.last_result
        if result.plan is not None:
            self.push_screen(DiagnosisScreen(result.title, result.plan, result.settings or self.settings,
                                             finished=result.diagnosis))
        self.push_screen(VerdictScreen(result.title, result.diagnosis))

    def go_home(self) -> None:
        """Back to the welcome screen, closing everything above it."""
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def copy_fix(self, finding: Finding | None) -> None:
        """Copy a finding's fix to the clipboard (OSC 52) and say so."""
        if finding is None or not finding.fix:
            self.notify("This finding has no fix to copy.", severity="warning", markup=False)
            return
        self.copy_to_clipboard(finding.fix)
        self.notify(clipboard_note(len(finding.fix), "e exports the whole report to a file"),
                    markup=False, timeout=10)

    def palette_commands(self) -> list[PaletteCommand]:
        """The app's own commands in the palette, whatever the screen."""
        commands: list[PaletteCommand] = [("Start over", "Back to the first screen", self.go_home)]
        if self.last_result is not None:
            commands.append(("Show the last result", "The last finished check",
                             self.show_last_result))
        commands.append(("Help for this screen", "What you see here and which keys work",
                         self.action_help))
        return commands

    def action_help(self) -> None:
        """F1: the help page for the screen in front."""
        from mxwizard.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        topic_of = getattr(self.screen, "help_topic", None)
        topic = topic_of() if callable(topic_of) else getattr(self.screen, "HELP_TOPIC", "welcome")
        self.push_screen(HelpScreen(str(topic)))


def _is_a_wizard(app: WizardApp) -> Wizard:
    """Never called: makes the type checker hold the app to the protocol its screens use."""
    return app


def run_app(settings: Settings, lab: bool) -> int:
    """Run the wizard until the user quits; returns the exit status for the shell."""
    app = WizardApp(settings, lab)
    app.run()
    return app.return_code or 0
