"""The short input form of a check: a few fields, validated as you submit, remembered next time.

The fields are the check's own (:mod:`mxwizard.diagnosis.checks`, where the command line gets its
arguments too), so errors appear next to the field they are about, in the same words as the
command line uses. The values typed are kept by the app while it runs (Escape never loses them)
and saved to ``last.json`` for the next run, except in lab mode, where they are the lab's
made-up names.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, Header, Input, Label, Static

from mxwizard.core.settings import PRIVATE_NETWORKS
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.checks import Check
from mxwizard.ui.screens.base import WizardScreen
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.tickbox import TickBox

#: The form's name for ``--private-network`` (a box under the fields of every check).
PRIVATE_NETWORK = "private_network"
PRIVATE_NETWORK_LABEL = "Private network I control"


class FormScreen(WizardScreen):
    """Asks for a check's inputs, then starts it (after consent, for the relay test)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "run", "Run check"),
        Binding("f2", "detect_ip", "Detect my IP"),
        Binding("down", "next_field", "Next field", show=False),
        Binding("up", "previous_field", "Previous field", show=False),
    ]

    def __init__(self, check: Check, values: dict[str, str], lesson: str = "") -> None:
        super().__init__()
        self.check = check
        self.initial = dict(values)
        #: A line about the lab scenario the values came from (lessons), if any.
        self.lesson = lesson

    def help_topic(self) -> str:
        """Each check has its own page explaining its fields."""
        return f"form-{self.check.kind}"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Static(Content.assemble((self.check.title, "bold"), "\n", self.check.intro),
                         id="form-intro")
            if self.lesson:
                yield Static(Content(self.lesson), id="form-lesson")
            for field in self.check.fields:
                with Horizontal(classes="form-row"):
                    yield Label(Content(field.label), classes="form-label")
                    yield Input(value=self.initial.get(field.name, ""), placeholder=field.placeholder,
                                id=f"field-{field.name}", compact=True)
                yield Static(id=f"error-{field.name}", classes="form-error")
            yield TickBox(PRIVATE_NETWORK_LABEL, self.initial.get(PRIVATE_NETWORK) == "yes",
                          id="field-private-network", compact=True)
            yield Static(id="form-status")
            yield Button("Run the check (Enter)", id="form-run", variant="primary", compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        """Focus where the eye is: the first empty field that must be filled in, else the
        first field (never an optional field further down); the scrolling form itself is no
        Tab stop of its own."""
        self.query_one("#form", VerticalScroll).can_focus = False
        inputs = {field.name: self.query_one(f"#field-{field.name}", Input)
                  for field in self.check.fields}
        needed = [inputs[f.name] for f in self.check.fields if f.required]
        first = next((i for i in needed if not i.value), None) or next(iter(inputs.values()), None)
        if first is not None:
            first.focus()
        for error in self.query(".form-error"):
            error.display = False

    def on_screen_resume(self) -> None:
        """Back on the form: the focused field's text is selected, ready to be typed over."""
        focused = self.focused
        if isinstance(focused, Input):
            focused.select_all()

    def action_next_field(self) -> None:
        """↓ moves to the next field, as Tab does."""
        self.focus_next()

    def action_previous_field(self) -> None:
        """↑ moves to the previous field, as Shift+Tab does."""
        self.focus_previous()

    def raw_values(self) -> dict[str, str]:
        """What is typed in the fields right now."""
        values = {field.name: self.query_one(f"#field-{field.name}", Input).value
                  for field in self.check.fields}
        private = self.query_one("#field-private-network", Checkbox).value
        return {**values, PRIVATE_NETWORK: "yes" if private else ""}

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """The private-network box is remembered like the fields."""
        self.wizard.form_values[self.check.kind] = self.raw_values()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Keep what is typed in the app, so going back and forth never loses it."""
        self.wizard.form_values[self.check.kind] = self.raw_values()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field runs the check."""
        event.stop()
        self.action_run()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The run button."""
        event.stop()
        self.action_run()

    def action_back(self) -> None:
        """Back to the welcome screen (the values stay remembered)."""
        self.wizard.form_values[self.check.kind] = self.raw_values()
        self.dismiss()

    def _show_errors(self, errors: dict[str, str]) -> None:
        for field in self.check.fields:
            label = self.query_one(f"#error-{field.name}", Static)
            message = errors.get(field.name, "")
            label.update(Content.assemble(("✖ ", "bold $text-error"), visible(message, 300))
                         if message else "")
            label.display = bool(message)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """IP detection only where the form has an IP field."""
        if action == "detect_ip":
            return any(field.name == "ip" for field in self.check.fields)
        return True

    def action_detect_ip(self) -> None:
        """Ask DNS which address this machine's connections come from, and fill it in."""
        self.query_one("#form-status", Static).update(Content("Asking DNS for your public IP…"))
        self.detect_ip()

    @work(exclusive=True, group="detect-ip", exit_on_error=False)
    async def detect_ip(self) -> None:
        """The detection itself, shared with the send check (the network's whoami name when the
        settings have one, as in the lab; public echo services otherwise)."""
        from mxwizard.probes.dns import system_nameservers
        from mxwizard.probes.public_ip import detect_public_ip

        settings = self.wizard.settings
        status = self.query_one("#form-status", Static)
        try:
            servers = [settings.resolver] if settings.resolver else system_nameservers()
            found = await asyncio.wait_for(detect_public_ip(
                servers, settings.timeout, whoami_name=settings.whoami_name,
                source_ip=settings.source_ip), settings.timeout * 3)
        except (Exception, asyncio.TimeoutError) as exc:  # no network must not end the app
            reason = visible(str(exc) or type(exc).__name__, 200)
            status.update(Content(f"Could not detect your public IP: {reason}"))
            return
        if found.detected is None:
            status.update(Content(f"Could not detect your public IP: {visible(found.problem, 200)}."))
            return
        self.query_one("#field-ip", Input).value = found.detected
        status.update(Content(f"Your public IP, according to {visible(found.method, 80)}: "
                              f"{found.detected}"))

    def _overrides(self, values: dict[str, object], private: bool) -> dict[str, object]:
        """Settings this run changes: ``--private-network`` when the box is ticked, and in the
        lab a sender on a loopback address connects from it (as the lab's scenarios do with
        ``--source-ip``), so the lab's servers judge the address the user typed."""
        out: dict[str, object] = {}
        if private:
            own = self.wizard.settings.own_networks
            out["own_networks"] = tuple(dict.fromkeys((*own, *PRIVATE_NETWORKS)))
        ip = values.get("ip")
        if self.wizard.world is not None and isinstance(ip, str) and ip.startswith("127."):
            out["source_ip"] = ip
        return out

    def action_run(self) -> None:
        """Validate, remember, and start the check."""
        raw = self.raw_values()
        values, errors = self.check.parse(raw)
        self._show_errors(errors)
        status = self.query_one("#form-status", Static)
        if errors:
            status.update(Content("Please correct the marked field."))
            first = next(f for f in self.check.fields if f.name in errors)
            self.query_one(f"#field-{first.name}", Input).focus()
            return
        self.wizard.remember_form(self.check.kind, raw)
        try:
            plan = self.check.plan(values)
        except Exception as exc:  # a plan builder bug must not end the app
            status.update(Content(f"The check could not start: {visible(str(exc), 200)}"))
            return
        status.update("")
        overrides = self._overrides(values, raw.get(PRIVATE_NETWORK) == "yes")
        if self.check.needs_consent:
            server = raw.get("server", "")

            def answered(yes: bool | None) -> None:
                if yes:
                    self.wizard.start_diagnosis(self.check.title, plan, overrides)
                else:
                    status.update(Content("Not tested: you did not agree."))

            from mxwizard.ui.screens.consent import ConsentScreen

            self.app.push_screen(ConsentScreen(server), answered)
        else:
            self.wizard.start_diagnosis(self.check.title, plan, overrides)
