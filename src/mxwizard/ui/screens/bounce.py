"""The bounce explainer: paste a reply line or a whole bounce, get what it means and what to do.

The text is explained by the pure parser in :mod:`mxwizard.explain` (no network), and the answer
is shown on the verdict screen like any other diagnosis. Escape from there comes back here with
the pasted text still in place; the app keeps it while it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, Static, TextArea

from mxwizard.diagnosis.result import Diagnosis
from mxwizard.ui.screens.base import WizardScreen
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.untrusted import visible


def explainer() -> Callable[[str], Diagnosis] | None:
    """The function that turns pasted text into a Diagnosis of kind "explain", if it exists.

    ``mxwizard.explain.explain_text`` returns (diagnosis, exit status); only the diagnosis is
    shown here."""
    try:
        module: Any = importlib.import_module("mxwizard.explain")
    except ImportError:
        return None
    function = getattr(module, "explain_text", None)
    if not callable(function):
        return None

    def explain(text: str) -> Diagnosis:
        result = function(text)
        return result[0] if isinstance(result, tuple) else result

    return explain


class BounceScreen(WizardScreen):
    """A place to paste the bounce, and a key to explain it."""

    HELP_TOPIC = "bounce"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "explain", "Explain"),
    ]

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
        explain = explainer()
        if explain is None:
            status.update(Content("Sorry: the bounce explainer is not available yet."))
            return
        try:
            diagnosis = explain(text)
        except Exception as exc:  # an explainer bug must not end the app
            status.update(Content(f"The text could not be explained: {visible(str(exc), 200)}"))
            return
        status.update("")
        from mxwizard.ui.app import Result
        from mxwizard.ui.screens.verdict import VerdictScreen

        self.wizard.remember_result(Result("Bounce explained", diagnosis))
        self.app.push_screen(VerdictScreen("Bounce explained", diagnosis))
