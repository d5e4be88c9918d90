"""The bounce explainer: paste a reply line, a whole bounce or mail log lines, get what it means
and what to do.

The text is explained by the pure parser in :mod:`mxwizard.bounces.explain` (no network), and the answer
is shown on the verdict screen like any other diagnosis. Escape from there comes back here with
the pasted text still in place; the app keeps it while it runs.

The explanation is where the next step starts: the bounce names the sender, the recipient, and
often the sending server's IP address and HELO name. The verdict of an explained bounce offers
"Run the send check with these values", which opens the send check's form filled in with them
(the user still reviews and starts it), so nobody retypes what the bounce already said.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, Static, TextArea

from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.screens.verdict import VerdictScreen
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.wizard import Result

#: What the offer to go on is called, on the key bar and in the command palette.
SEND_WITH_VALUES = "Run the send check with these values"


def open_send_form(screen: WizardScreen, diagnosis: Diagnosis) -> None:
    """Open the send check's form, filled in with what the bounce named (sender, recipient,
    IP, HELO) over what was typed there before."""
    from mxwizard.bounces.explain import send_check_values
    from mxwizard.diagnosis.checks import SEND
    from mxwizard.ui.screens.form import FormScreen

    values = {**screen.wizard.form_values.get(SEND.kind, {}), **send_check_values(diagnosis)}
    screen.app.push_screen(FormScreen(SEND, values))


class BounceVerdictScreen(VerdictScreen):
    """The verdict on an explained bounce, with the way on: the send check, filled in."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "send_check", SEND_WITH_VALUES),
    ]

    def action_send_check(self) -> None:
        """Open the send form with the bounce's addresses, IP and HELO."""
        open_send_form(self, self.diagnosis)

    def palette_commands(self) -> list[PaletteCommand]:
        """The verdict's actions, and the send check with the bounce's values."""
        return [(SEND_WITH_VALUES, "Open the send check's form filled in from this bounce",
                 self.action_send_check), *super().palette_commands()]


class BounceScreen(WizardScreen):
    """A place to paste the bounce, and a key to explain it."""

    HELP_TOPIC = "bounce"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "explain", "Explain"),
        Binding("ctrl+s", "send_check", "Send check with these values"),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: The last explanation made here (for the send check with its values).
        self.explained: Diagnosis | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The send check is offered once a bounce has been explained here."""
        if action == "send_check":
            return self.explained is not None
        return True

    def action_send_check(self) -> None:
        """Open the send form with what the last explained bounce named."""
        if self.explained is not None:
            open_send_form(self, self.explained)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Content.assemble(
            ("What does this bounce mean?", "bold"), "\n",
            "Paste the bounce message, or just the line with the error code, then press ctrl+r.",
        ), id="bounce-intro")
        yield TextArea(self.wizard.bounce_text, id="bounce-text", soft_wrap=True,
                       show_line_numbers=False, tab_behavior="focus")
        yield Static(id="bounce-status")
        yield KeyBar()

    def on_mount(self) -> None:
        """Ready to paste."""
        self.query_one(TextArea).focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Keep the text in the app so leaving this screen never loses it."""
        self.wizard.bounce_text = event.text_area.text

    def action_back(self) -> None:
        """Back to the welcome screen."""
        self.dismiss()

    def action_explain(self) -> None:
        """Explain the pasted text and show the answer."""
        text = self.query_one(TextArea).text
        status = self.query_one("#bounce-status", Static)
        if not text.strip():
            status.update(Content("Paste something first: a bounce or a reply line such as "
                                  "'550 5.1.1 User unknown'."))
            return
        from mxwizard.bounces.explain import explain_text

        try:
            diagnosis, _status = explain_text(text)
        except Exception as exc:  # an explainer bug must not end the app
            status.update(Content(f"The text could not be explained: {visible(str(exc), 200)}"))
            return
        status.update("")
        self.explained = diagnosis
        self.refresh_bindings()
        self.wizard.remember_result(Result("Bounce explained", diagnosis))
        self.app.push_screen(BounceVerdictScreen("Bounce explained", diagnosis))
