"""Export: the report as Markdown (for a ticket or a forum post) or JSON (for scripts), saved to a
file or copied to the clipboard (OSC 52, which also works over SSH in most terminals).

Enter saves, on the format list as in the file name, as in the session's save dialog; ctrl+s is an
alias. A file is written new: an existing one is replaced only after a second Save with the same
name, and a link, folder or device under that name never is. In a browser (``mxwizard serve``)
nothing is written on the server: the report arrives as a download.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.replay.session_files import NotReplaceable, file_name_for, write_new_file
from mxwizard.ui.web import download_name
from mxwizard.ui.widgets.tickbox import Choice

_EXTENSIONS = {"markdown": ".md", "json": ".json"}
_MIME_TYPES = {"markdown": "text/markdown", "json": "application/json"}


def default_path(diagnosis: Diagnosis, fmt: str) -> str:
    """``mxwizard-<kind>-<target>.md``, a safe file name relative to the current directory."""
    return file_name_for(diagnosis.kind, diagnosis.target, _EXTENSIONS[fmt])


def render(diagnosis: Diagnosis, fmt: str) -> str:
    """The report in ``fmt`` (``markdown`` or ``json``)."""
    from mxwizard.render.report import to_json, to_markdown

    return to_json(diagnosis) if fmt == "json" else to_markdown(diagnosis)


class FormatChoice(RadioSet):
    """The format list, where Enter takes the highlighted format and saves (Space only takes it):
    Enter performs the action in every save dialog of the wizard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Save in this format", show=False),
    ]

    @dataclass
    class Chosen(Message):
        """Enter on a format: save in it."""

        fmt: str

    def action_choose(self) -> None:
        """Press the highlighted format (a no-op when it is pressed already), then ask to save."""
        highlighted = self._selected  # RadioSet's own cursor, the row the arrows moved to
        buttons = list(self.query(RadioButton))
        if highlighted is not None and 0 <= highlighted < len(buttons):
            chosen = buttons[highlighted]
            chosen.value = True
        else:
            chosen = self.pressed_button or buttons[0]
        self.post_message(self.Chosen(chosen.id or "markdown"))


class ExportScreen(ModalScreen[None]):
    """Choose a format, then save to a file or copy to the clipboard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "save", "Save"),  # an alias of Enter
        Binding("ctrl+y", "copy", "Copy"),
    ]
    HELP_TOPIC = "export"

    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.diagnosis = diagnosis
        self.fmt = "markdown"
        #: The name the user was asked about replacing (a second Save with it replaces the file).
        self._replace: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(Content.assemble(("Export the report", "bold")), id="export-title")
            with FormatChoice(id="export-format"):
                yield Choice("Markdown (for a ticket or a forum post)", value=True, id="markdown")
                yield Choice("JSON (for scripts)", id="json")
            yield Label("Save to (a name alone means the current directory):" if not self.app.is_web
                        else "File name for the download:")
            yield Input(value=default_path(self.diagnosis, self.fmt), id="export-path", compact=True)
            yield Static(id="export-status")
            with Horizontal(id="export-buttons"):
                yield Button("Save (Enter)" if not self.app.is_web else "Download (Enter)",
                             id="export-save", variant="primary", compact=True)
                yield Button("Copy (ctrl+y)", id="export-copy", compact=True)
                yield Button("Close (Esc)", id="export-close", compact=True)

    def on_mount(self) -> None:
        """Start on the format choice."""
        self.query_one(RadioSet).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A new format: change the file name's extension to match."""
        self._use_format(event.pressed.id or "markdown")

    @on(FormatChoice.Chosen)
    def format_chosen(self, event: FormatChoice.Chosen) -> None:
        """Enter on the format list: that format, saved at once."""
        event.stop()
        self._use_format(event.fmt)
        self.action_save()

    def _use_format(self, fmt: str) -> None:
        """Export in ``fmt`` from now on, with the file name's extension to match (twice is
        harmless: Enter's choice and the list's own change message may both arrive)."""
        self.fmt = fmt if fmt in _EXTENSIONS else "markdown"
        path_input = self.query_one("#export-path", Input)
        base, ext = os.path.splitext(path_input.value)
        if ext in _EXTENSIONS.values():
            path_input.value = base + _EXTENSIONS[self.fmt]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the file name saves."""
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#export-save")
    def save_pressed(self, event: Button.Pressed) -> None:
        """The save (or download) button."""
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#export-copy")
    def copy_pressed(self, event: Button.Pressed) -> None:
        """The copy button."""
        event.stop()
        self.action_copy()

    @on(Button.Pressed, "#export-close")
    def close_pressed(self, event: Button.Pressed) -> None:
        """The close button."""
        event.stop()
        self.dismiss()

    def _status(self, ok: bool, text: str) -> None:
        glyph = ("✔ ", "bold $text-success") if ok else ("✖ ", "bold $text-error")
        self.query_one("#export-status", Static).update(Content.assemble(glyph, text))

    def action_save(self) -> None:
        """Write the report to the file named in the input (in a browser: send it as a download).

        An existing file is replaced only when Save is pressed again with the same name.
        """
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self._status(False, "Please give a file name.")
            return
        text = render(self.diagnosis, self.fmt)
        if self.app.is_web:
            name = download_name(raw, default_path(self.diagnosis, self.fmt))
            self.app.deliver_text(io.StringIO(text), save_filename=name,
                                  mime_type=_MIME_TYPES[self.fmt])
            self._status(True, f"Sent to your browser as the download {name}.")
            return
        try:
            path = write_new_file(raw, text, replace=self._replace == raw)
        except NotReplaceable:
            self._status(False, f"{visible(raw, 200)} is a link, folder or device; choose another name.")
            return
        except FileExistsError:
            self._replace = raw
            self._status(False, f"{visible(raw, 200)} already exists. Save again replaces it; or "
                                "change the name.")
            return
        except OSError as exc:
            self._status(False, f"Could not save: {visible(exc.strerror or str(exc), 200)}")
            return
        self._replace = None
        self._status(True, f"Saved to {visible(str(Path(path).resolve()), 300)}")

    def action_copy(self) -> None:
        """Copy the report to the clipboard."""
        self.app.copy_to_clipboard(render(self.diagnosis, self.fmt))
        self._status(True, "Copied to the clipboard (your terminal must allow OSC 52).")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the export dialog."""
        self.dismiss(None)
