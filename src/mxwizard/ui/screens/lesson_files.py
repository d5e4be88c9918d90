"""Lesson files: save a session for later, and open a saved one to replay at a chosen speed.

A session file is the JSON report (or the part of it with the transcripts and DNS lookups), so a
report saved by ``mxwizard check ... --format json`` against a real server opens here too. Loading
and checking is :mod:`mxwizard.replay.session_files`; a bad file is answered with its one-line reason.

The open dialog lists the session files of the folder sessions are saved to by default (the
current directory; in a browser, the served directory), newest first, with the newest (the last
one saved) highlighted: Enter replays it. Opening is quick (the file is opened and its size
checked at once, so a missing file is answered on the spot); reading, checking and annotating
happen in a thread worker that reports its progress, so a large file never freezes the wizard,
and Escape abandons it. In a browser
(``mxwizard serve``) nothing is written on the server: a saved session arrives as a download, and
files open only by name from the directory the server was started with.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    ProgressBar,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from mxwizard.core.untrusted import visible
from mxwizard.replay.saved_sessions import SavedSession, saved_sessions
from mxwizard.replay.session_files import (
    NotReplaceable,
    Session,
    SessionError,
    SessionFile,
    default_file_name,
    open_session_file,
    save_session,
    session_text,
)
from mxwizard.ui.web import download_name, served_files_dir
from mxwizard.ui.widgets.tickbox import Choice

#: The playback choices: (radio button id, label, speed; None steps by key press).
#: How long the dialog looks for saved sessions in its folder before it offers what it found.
SCAN_SECONDS = 2.0

SPEEDS: tuple[tuple[str, str, float | None], ...] = (
    ("speed-step", "Step by key press, with explanations", None),
    ("speed-half", "0.5× (half the recorded pace)", 0.5),
    ("speed-1x", "1× (as recorded)", 1.0),
    ("speed-2x", "2×", 2.0),
    ("speed-5x", "5×", 5.0),
    ("speed-20x", "20×", 20.0),
)

def _status(ok: bool, text: str) -> Content:
    glyph = ("✔ ", "bold $text-success") if ok else ("✖ ", "bold $text-error")
    return Content.assemble(glyph, text)


def saved_prompt(saved: SavedSession) -> Content:
    """One saved session as a list row: when it was written, then its name. (A file's time is
    whatever was set on it: an archive can carry one no calendar holds.)"""
    try:
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.modified))
    except (OverflowError, OSError, ValueError):
        written = "????-??-?? ??:??"
    return Content.assemble((written, "$text-muted"), "  ", visible(saved.name, 50))


class _Abandoned(Exception):
    """Raised inside a load whose worker was cancelled (Escape, or the dialog closed)."""


class OpenSessionScreen(ModalScreen[tuple[Session, float | None] | None]):
    """Asks for a session file and a speed; returns the loaded session and the speed."""

    HELP_TOPIC = "replay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+o", "open", "Open"),
    ]

    @dataclass
    class Progressed(Message):
        """A load has come this far (0.0 to 1.0)."""

        load: int
        fraction: float

    @dataclass
    class Loaded(Message):
        """A load finished: the session is checked and annotated."""

        load: int
        session: Session
        speed: float | None

    @dataclass
    class Failed(Message):
        """A load failed; ``reason`` is one line."""

        load: int
        reason: str

    @dataclass
    class SavedFound(Message):
        """The folder's saved sessions, newest first (the scan is done)."""

        saved: list[SavedSession]

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.initial_path = path
        #: The number of the load under way, or None; messages of an abandoned load are ignored.
        self.load_under_way: int | None = None
        self._loads = 0
        #: The session files offered in the list, newest first (found once the dialog is up).
        self.saved: list[SavedSession] = []
        #: Set once the folder has been looked through and what it holds is shown.
        self.saved_listed = asyncio.Event()

    @property
    def directory(self) -> Path | None:
        """In a browser, the only directory files open from; None in a terminal (any path)."""
        return served_files_dir() if self.app.is_web else None

    def compose(self) -> ComposeResult:
        where = ("File (a name alone means the current directory):" if self.directory is None
                 else f"File name, in {visible(str(self.directory), 50)}:")
        with Vertical(id="open-box"):
            yield Static(Content.assemble(
                ("Replay a saved session", "bold"),
                "\nSaved with s, or the output of: mxwizard check ... --format json"), id="open-title")
            yield Label("Saved here, newest first (Enter replays the highlighted one):",
                        id="open-saved-label", classes="-none")
            yield OptionList(id="open-saved", classes="-none")
            yield Label(where)
            yield Input(value=self.initial_path, id="open-path", compact=True,
                        placeholder="session.json")
            yield Label("Play it:")
            with RadioSet(id="open-speed", compact=True):
                for index, (speed_id, label, _speed) in enumerate(SPEEDS):
                    yield Choice(label, value=index == 0, id=speed_id)
            yield ProgressBar(total=100, show_eta=False, id="open-progress")
            yield Static(classes="lesson-file-status", id="open-status")
            with Horizontal(classes="lesson-file-buttons"):
                yield Button("Open (Enter)", id="open-open", variant="primary", compact=True)
                yield Button("Close (Esc)", id="open-close", compact=True)

    def on_mount(self) -> None:
        """Start in the file name, and look for saved sessions meanwhile. (The focus is set now,
        not later as ``focus()`` does: the list, when it comes, takes it only from there.)"""
        self.set_focus(self.query_one("#open-path", Input))
        self._find_saved(self.directory or Path("."))

    @work(thread=True, exclusive=True, group="saved-sessions", exit_on_error=False)
    def _find_saved(self, folder: Path) -> None:
        """Look through the folder off the UI thread, for at most SCAN_SECONDS: a folder on a
        slow network mount must not freeze the dialog (Escape still closes it)."""
        found = saved_sessions(folder, deadline=time.monotonic() + SCAN_SECONDS)
        self.post_message(self.SavedFound(found))

    @on(SavedFound)
    def _saved_found(self, message: SavedFound) -> None:
        """Offer what was found, the last session saved highlighted; if the user has not started
        on the file name yet, start there instead (Enter replays it)."""
        self.saved = message.saved
        if self.saved:
            saved = self.query_one("#open-saved", OptionList)
            saved.add_options(Option(saved_prompt(s), id=str(i)) for i, s in enumerate(self.saved))
            saved.remove_class("-none")
            self.query_one("#open-saved-label").remove_class("-none")
            path_input = self.query_one("#open-path", Input)
            if not self.initial_path and not path_input.value and self.focused is path_input:
                saved.highlighted = 0
                path_input.value = self.saved[0].name
                self.set_focus(saved)
        self.saved_listed.set()

    @on(OptionList.OptionHighlighted, "#open-saved")
    def saved_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Arrows in the list: the file name follows (Enter, ctrl+o and the button open it)."""
        if event.option_list.has_focus and event.option.id is not None:
            self.query_one("#open-path", Input).value = self.saved[int(event.option.id)].name

    @on(OptionList.OptionSelected, "#open-saved")
    def saved_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter in the list replays the highlighted session."""
        event.stop()
        if event.option.id is not None:
            self.query_one("#open-path", Input).value = self.saved[int(event.option.id)].name
            self.action_open()

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

    @on(Button.Pressed, "#open-open")
    def open_pressed(self, event: Button.Pressed) -> None:
        """The open button."""
        event.stop()
        self.action_open()

    @on(Button.Pressed, "#open-close")
    def close_pressed(self, event: Button.Pressed) -> None:
        """The close button."""
        event.stop()
        self.action_close()

    def action_open(self) -> None:
        """Open the file at once (a missing or oversized file is answered here), then read it in
        a worker; the dialog stays, with the one-line reason, if it is not a session."""
        if self.load_under_way is not None:
            return
        raw = self.query_one("#open-path", Input).value.strip()
        status = self.query_one("#open-status", Static)
        if not raw:
            status.update(_status(False, "Please give the name of a session file."))
            return
        try:
            opened = open_session_file(raw, directory=self.directory, regular_only=True)
        except SessionError as exc:
            status.update(_status(False, visible(str(exc), 400)))
            return
        self._loads += 1
        self.load_under_way = self._loads
        self.add_class("-loading")
        self.query_one(ProgressBar).update(progress=0)
        status.update(Content(f"Loading {visible(raw, 200)}… Escape stops."))
        self._load(opened, self.speed, self._loads)

    @work(thread=True, exclusive=True, group="open-session", exit_on_error=False)
    def _load(self, opened: SessionFile, speed: float | None, load: int) -> None:
        """Read, check and annotate the file off the UI thread, reporting progress."""
        worker = get_current_worker()

        def progress(fraction: float) -> None:
            if worker.is_cancelled:
                raise _Abandoned
            self.post_message(self.Progressed(load, fraction))

        try:
            session = opened.load(progress)
        except _Abandoned:
            return
        except SessionError as exc:
            self.post_message(self.Failed(load, str(exc)))
        else:
            self.post_message(self.Loaded(load, session, speed))
        finally:
            opened.close()

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        if message.load == self.load_under_way:
            self.query_one(ProgressBar).update(progress=100 * message.fraction)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.load == self.load_under_way:
            self._stop_loading()
            self.dismiss((message.session, message.speed))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        if message.load == self.load_under_way:
            self._stop_loading()
            self.query_one("#open-status", Static).update(_status(False, visible(message.reason, 400)))

    def _stop_loading(self) -> None:
        self.load_under_way = None
        self.remove_class("-loading")

    def action_close(self) -> None:
        """Escape: stop a load under way (the dialog stays), or close the dialog."""
        if self.load_under_way is not None:
            self.workers.cancel_group(self, "open-session")
            self._stop_loading()
            self.query_one("#open-status", Static).update(
                _status(False, "Stopped loading. Enter opens a file again."))
            return
        self.dismiss(None)

    async def action_dismiss(self, result: tuple[Session, float | None] | None = None) -> None:
        """Escape: as :meth:`action_close`."""
        self.action_close()


class SaveSessionScreen(ModalScreen[None]):
    """Asks for a file name and saves the session there as JSON (in a browser: as a download).

    The one save dialog of the wizard: the step-through, the details and the verdict all open it
    with ``s``. Enter saves, as in the export dialog; ctrl+s is an alias there and here.
    """

    HELP_TOPIC = "replay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "save", "Save", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        #: Where the session was saved last (None until it has been; the file name when it was
        #: sent to the browser).
        self.saved_to: str | None = None
        #: The name the user was asked about replacing (a second Save with it replaces the file).
        self._replace: str | None = None

    def compose(self) -> ComposeResult:
        session = self.session
        with Vertical(id="save-box"):
            yield Static(Content.assemble(
                ("Save this session", "bold"),
                f"\n{len(session.transcripts)} SMTP session(s) and {len(session.lookups)} DNS "
                "lookup(s), as JSON in the shape of 'mxwizard check --format json'. Replay it "
                "from Lessons or with: mxwizard replay FILE"), id="save-title")
            yield Label("Save to (a name alone means the current directory):" if not self.app.is_web
                        else "File name for the download:")
            yield Input(value=default_file_name(session), id="save-path", compact=True)
            yield Static(classes="lesson-file-status", id="save-status")
            with Horizontal(classes="lesson-file-buttons"):
                yield Button("Save (Enter)" if not self.app.is_web else "Download (Enter)",
                             id="save-save", variant="primary", compact=True)
                yield Button("Close (Esc)", id="save-close", compact=True)

    def on_mount(self) -> None:
        """Start in the file name."""
        self.query_one("#save-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the file name saves."""
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save-save")
    def save_pressed(self, event: Button.Pressed) -> None:
        """The save (or download) button."""
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save-close")
    def close_pressed(self, event: Button.Pressed) -> None:
        """The close button."""
        event.stop()
        self.dismiss(None)

    def action_save(self) -> None:
        """Write the session to the file named in the input: a new file, or (after asking) an
        existing one replaced; in a browser, send it as a download instead."""
        raw = self.query_one("#save-path", Input).value.strip()
        status = self.query_one("#save-status", Static)
        if not raw:
            status.update(_status(False, "Please give a file name."))
            return
        if self.app.is_web:
            name = download_name(raw, default_file_name(self.session))
            text = session_text(self.session)
            self.app.deliver_text(io.StringIO(text), save_filename=name, mime_type="application/json")
            self.saved_to = name
            status.update(_status(True, f"Sent to your browser as the download {name}."))
            return
        try:
            path = save_session(self.session, raw, replace=self._replace == raw)
        except NotReplaceable:
            status.update(_status(False, f"{visible(raw, 200)} is a link, folder or device; "
                                         "choose another name."))
            return
        except FileExistsError:
            self._replace = raw
            status.update(_status(False, f"{visible(raw, 200)} already exists. Enter again "
                                         "replaces it; or change the name."))
            return
        except OSError as exc:
            status.update(_status(False, f"Could not save: {visible(exc.strerror or str(exc), 200)}"))
            return
        self._replace = None
        self.saved_to = str(path.resolve())
        status.update(_status(True, f"Saved to {visible(self.saved_to, 300)}. Esc goes back."))

    async def action_dismiss(self, result: None = None) -> None:
        """Close the dialog."""
        self.dismiss(None)

