"""Lesson files: save a session for later, and open a saved one to replay at a chosen speed.

A session file is the JSON report (or the part of it with the transcripts and DNS lookups), so a
report saved by ``mxwizard check ... --format json`` against a real server opens here too. Loading
and checking is :mod:`mxwizard.sessions`; a bad file is answered with its one-line reason.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from mxwizard.sessions import Session, SessionError, default_file_name, load_session, save_session
from mxwizard.untrusted import visible

#: The playback choices: (radio button id, label, speed; None steps by key press).
SPEEDS: tuple[tuple[str, str, float | None], ...] = (
    ("speed-step", "Step by key press, with explanations", None),
    ("speed-half", "0.5× (half the recorded pace)", 0.5),
    ("speed-1x", "1× (as recorded)", 1.0),
    ("speed-2x", "2×", 2.0),
    ("speed-5x", "5×", 5.0),
    ("speed-20x", "20×", 20.0),
)

_BOX_CSS = """
    {screen} {{ align: center middle; }}
    {screen} > Vertical {{
        width: 72; height: auto; max-height: 22; padding: 0 2; border: thick $primary;
        background: $surface;
    }}
    {screen} RadioSet {{ width: 1fr; }}
    {screen} .lesson-file-status {{ height: auto; margin-top: 1; }}
    {screen} .lesson-file-buttons {{ height: auto; margin-top: 1; }}
    {screen} .lesson-file-buttons Button {{ margin-right: 2; }}
"""


def _status(ok: bool, text: str) -> Content:
    glyph = ("✔ ", "bold $text-success") if ok else ("✖ ", "bold $text-error")
    return Content.assemble(glyph, text)


class OpenSessionScreen(ModalScreen[tuple[Session, float | None] | None]):
    """Asks for a session file and a speed; returns the loaded session and the speed."""

    HELP_TOPIC = "replay"
    DEFAULT_CSS = _BOX_CSS.format(screen="OpenSessionScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+o", "open", "Open"),
    ]

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.initial_path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box"):
            yield Static(Content.assemble(
                ("Replay a saved session", "bold"), "\nA file saved with s on a lesson, or the "
                "output of: mxwizard check ... --format json"), id="open-title")
            yield Label("File (a name alone means the current directory):")
            yield Input(value=self.initial_path, id="open-path", compact=True,
                        placeholder="session.json")
            yield Label("Play it:")
            with RadioSet(id="open-speed", compact=True):
                for index, (speed_id, label, _speed) in enumerate(SPEEDS):
                    yield RadioButton(label, value=index == 0, id=speed_id)
            yield Static(classes="lesson-file-status", id="open-status")
            with Horizontal(classes="lesson-file-buttons"):
                yield Button("Open (Enter)", id="open-open", variant="primary", compact=True)
                yield Button("Close (Esc)", id="open-close", compact=True)

    def on_mount(self) -> None:
        """Start in the file name."""
        self.query_one("#open-path", Input).focus()

    @property
    def speed(self) -> float | None:
        """The chosen speed (None: step by key press)."""
        pressed = self.query_one(RadioSet).pressed_button
        return next((speed for speed_id, _label, speed in SPEEDS
                     if pressed is not None and pressed.id == speed_id), None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the file name opens."""
        event.stop()
        self.action_open()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Open or close."""
        event.stop()
        if event.button.id == "open-open":
            self.action_open()
        else:
            self.dismiss(None)

    def action_open(self) -> None:
        """Load the file; a bad one is answered with one line and the dialog stays."""
        raw = self.query_one("#open-path", Input).value.strip()
        status = self.query_one("#open-status", Static)
        if not raw:
            status.update(_status(False, "Please give the name of a session file."))
            return
        try:
            session = load_session(raw)
        except SessionError as exc:
            status.update(_status(False, visible(str(exc), 400)))
            return
        self.dismiss((session, self.speed))

    async def action_dismiss(self, result: tuple[Session, float | None] | None = None) -> None:
        """Close without opening anything."""
        self.dismiss(result)


class SaveSessionScreen(ModalScreen[None]):
    """Asks for a file name and saves the session there as JSON."""

    HELP_TOPIC = "replay"
    DEFAULT_CSS = _BOX_CSS.format(screen="SaveSessionScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        #: Where the session was saved last (None until it has been).
        self.saved_to: str | None = None

    def compose(self) -> ComposeResult:
        session = self.session
        with Vertical(id="save-box"):
            yield Static(Content.assemble(
                ("Save this session", "bold"),
                f"\n{len(session.transcripts)} SMTP session(s) and {len(session.lookups)} DNS "
                "lookup(s), as JSON in the shape of 'mxwizard check --format json'. Replay it "
                "from Lessons or with: mxwizard replay FILE"), id="save-title")
            yield Label("Save to (a name alone means the current directory):")
            yield Input(value=default_file_name(session), id="save-path", compact=True)
            yield Static(classes="lesson-file-status", id="save-status")
            with Horizontal(classes="lesson-file-buttons"):
                yield Button("Save (Enter)", id="save-save", variant="primary", compact=True)
                yield Button("Close (Esc)", id="save-close", compact=True)

    def on_mount(self) -> None:
        """Start in the file name."""
        self.query_one("#save-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the file name saves."""
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or close."""
        event.stop()
        if event.button.id == "save-save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        """Write the session to the file named in the input."""
        raw = self.query_one("#save-path", Input).value.strip()
        status = self.query_one("#save-status", Static)
        if not raw:
            status.update(_status(False, "Please give a file name."))
            return
        try:
            path = save_session(self.session, raw)
        except OSError as exc:
            status.update(_status(False, f"Could not save: {visible(exc.strerror or str(exc), 200)}"))
            return
        self.saved_to = str(path.resolve())
        status.update(_status(True, f"Saved to {visible(self.saved_to, 300)}. Esc goes back."))

    async def action_dismiss(self, result: None = None) -> None:
        """Close the dialog."""
        self.dismiss(None)
