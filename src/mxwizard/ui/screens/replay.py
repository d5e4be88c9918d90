"""Step through an SMTP session one command at a time, or play it back at the recorded pace.

This is the trainer's view of a lesson. The class first reads what we are about to send and why;
a key press shows the command and the server's reply, each line with its note, and the status says
what the reply means and what the receiver checked at that point. The first step is the connection
and the greeting. The same screen plays a saved session back on a timer that follows the recorded
times, scaled by the chosen speed (no pause longer than a few seconds, as in ``mxwizard replay``);
the timer belongs to the screen, so leaving it ends the playback, and Space pauses it. ``s``
saves the session to a file, ``l`` (or ``d``) opens its DNS lesson, the keys of the details screen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Header, Static

from mxwizard.core.transcript import Transcript
from mxwizard.core.untrusted import visible
from mxwizard.replay.lesson_steps import SmtpStep, smtp_after, smtp_before, smtp_steps
from mxwizard.replay.session_files import Cue, Session, real_pause, timeline
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.transcript import TranscriptView

#: Lines due sooner than this (seconds) after the one before appear together with it.
MIN_WAIT = 0.01
#: The most lines a lesson steps through: the transcript list takes about a second to show this
#: many at once, and a class learns nothing more from a reply of thousands of lines.
LESSON_LINES = 2000


def lesson_transcripts(transcripts: list[Transcript], limit: int = LESSON_LINES) -> list[Transcript]:
    """The transcripts cut to their first ``limit`` lines in all (the originals stay whole)."""
    kept: list[Transcript] = []
    for transcript in transcripts:
        room = limit - sum(len(t.lines) for t in kept)
        if room <= 0:
            break
        kept.append(transcript if len(transcript.lines) <= room else
                    Transcript(transcript.host, transcript.ip, transcript.port, transcript.lines[:room]))
    return kept


def speed_words(speed: float) -> str:
    """``2×``, ``0.5×``: a speed as a trainer says it."""
    return f"{speed:g}×"


class ReplayScreen(WizardScreen):
    """A session's SMTP conversations, step by step or at a chosen speed."""

    HELP_TOPIC = "replay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_playback", "Stop"),
        Binding("escape", "back", "Back"),
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("space,n", "next", "Next"),
        Binding("backspace,p", "previous", "Previous"),
        Binding("s", "save", "Save"),
        Binding("l,d", "dns_lesson", "DNS steps"),  # l as on the details screen; d as before
        Binding("a", "all", "All", show=False),
        Binding("r", "restart", "Start again", show=False),
        Binding("x", "explain", "Explain line", show=False),
    ]

    def __init__(self, title: str, session: Session, *, speed: float | None = None) -> None:
        super().__init__()
        self.check_title = title
        #: What is replayed: the SMTP sessions (and the DNS lookups, for the DNS lesson and saving).
        self.session = session
        shown = lesson_transcripts(session.transcripts)
        #: Every line of every SMTP session in session order (the first LESSON_LINES), and the
        #: steps they form.
        self.lines, self.steps = smtp_steps(shown)
        #: How many lines of the session the lesson leaves out.
        self.left_out = session.line_count - len(self.lines)
        #: How many lines are shown.
        self.shown = 0
        #: The playback speed (a multiple of the recorded pace), or None to step by key press.
        self.speed = speed
        self._cues: list[Cue] = timeline(replace(session, transcripts=shown), dns=False)
        self._timer: Timer | None = None
        #: True while a timed playback is under way but paused.
        self.paused = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="replay-meaning")
        yield Static(id="replay-next")
        yield TranscriptView(id="replay-transcript")
        yield KeyBar()

    def on_mount(self) -> None:
        """Start before the first step, or start playing."""
        self.sub_title = f"{self.check_title}: step by step"
        self.query_one(TranscriptView).follow = False
        self.query_one(TranscriptView).option_list.focus()
        if self.speed:
            self.sub_title = f"{self.check_title}: playing at {speed_words(self.speed)}"
            self._schedule()
        self._refresh_status()

    # --- state ----------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        """True while a timed playback is under way (running or paused)."""
        return self._timer is not None or self.paused

    @property
    def steps_done(self) -> int:
        """How many steps are shown in full."""
        return sum(1 for step in self.steps if step.end <= self.shown)

    def _show(self, count: int) -> None:
        """Show the first ``count`` lines (fewer by starting over), then say what they mean."""
        count = max(0, min(count, len(self.lines)))
        view = self.query_one(TranscriptView)
        if count < self.shown:
            view.show_all([])
            self.shown = 0
        for transcript, line in self.lines[self.shown:count]:
            view.add_line(transcript, line)
        self.shown = count
        self.call_after_refresh(self._highlight)  # once the new lines have their size
        self._refresh_status()

    def _highlight(self) -> None:
        """Bring the newest line into view and highlight the reply of the newest step."""
        option_list = self.query_one(TranscriptView).option_list
        if not option_list.option_count:
            return
        option_list.highlighted = option_list.option_count - 1
        step = next((s for s in reversed(self.steps) if s.start < self.shown), None)
        if step is None or self.playing:
            return
        # the step's first line at the top if it fits, its reply highlighted (explained by x)
        option_list.highlighted = option_list.get_option_index(f"l{step.start}")
        reply = next((i for i in range(step.start, min(step.end, self.shown))
                      if self.lines[i][1].dir.value == "S"), None)
        if reply is not None:
            option_list.highlighted = option_list.get_option_index(f"l{reply}")

    def _step_number(self, step: SmtpStep) -> str:
        return f"Step {self.steps.index(step) + 1} of {len(self.steps)}"

    def _refresh_status(self) -> None:
        meaning = self.query_one("#replay-meaning", Static)
        upcoming = self.query_one("#replay-next", Static)
        if not self.steps:
            meaning.update(Content.assemble(
                ("No SMTP conversation", "bold"), " in this session to step through.",
                " Press l for its DNS lesson." if self.session.lookups else ""))
            upcoming.update(Content("Escape goes back."))
            return
        done = [step for step in self.steps if step.end <= self.shown]
        if done:
            head, body = smtp_after(done[-1])
            meaning.update(Content.assemble(
                (f"{self._step_number(done[-1])} · ", "$text-muted"), (head, "bold"),
                *(["\n", body] if body else [])))
        else:
            sessions = len(self.session.transcripts)
            meaning.update(Content.assemble(
                ("Lesson: ", "bold"), visible(self.check_title, 120),
                f" — {len(self.steps)} steps in {sessions} SMTP session{'s' if sessions > 1 else ''}. "
                "Each step is one command we send and the server's reply; the first is the "
                "connection and the greeting.",
                f" The session has {self.session.line_count} lines; the lesson shows the first "
                f"{len(self.lines)}." if self.left_out else ""))
        upcoming.update(self._next_text())

    def _next_text(self) -> Content:
        parts: list[str | Content | tuple[str, str]] = []
        if self.playing:
            speed = speed_words(self.speed or 1.0)
            state = (("⏸ Paused", "bold $text-warning") if self.paused else
                     ("▶ Playing", "bold $text-accent"))
            parts += [state, f" at {speed}, line {self.shown} of {len(self.lines)}. "
                      f"Space {'resumes' if self.paused else 'pauses'}, Escape stops.\n"]
        step = next((s for s in self.steps if s.end > self.shown), None)
        if step is None:
            parts += [("■ End of the conversation. ", "bold"),
                      "Backspace goes back a step, r starts again, s saves the session."]
            if self.left_out:
                parts += [f" The lesson showed the first {len(self.lines)} lines; "
                          f"'mxwizard replay FILE' prints all {self.session.line_count}."]
            return Content.assemble(*parts)
        head, why = smtp_before(step)
        now = step.start < self.shown
        label = "Now: " if now else ("Next: " if self.playing else "Next (Space): ")
        parts += [(f"{self._step_number(step)} · ", "$text-muted"), (label, "bold $text-accent"),
                  (head, "bold"), "\n", why]
        return Content.assemble(*parts)

    # --- timed playback -----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Show the lines that are due now, then set the timer for the next one at its recorded
        pause scaled by the speed."""
        self._timer = None
        speed = self.speed or 1.0
        due = self.shown
        while due < len(self._cues) and real_pause(self._cues[due].wait_ms, speed) < MIN_WAIT:
            due += 1
        if due > self.shown:
            self._show(due)
        if self.shown >= len(self._cues):  # the end: the keys step again
            self.sub_title = f"{self.check_title}: played at {speed_words(speed)}"
            self.refresh_bindings()
            self._refresh_status()
            return
        self._timer = self.set_timer(real_pause(self._cues[self.shown].wait_ms, speed), self._tick)

    def _tick(self) -> None:
        """One more line; then the next ones when they are due."""
        self._timer = None
        self._show(self.shown + 1)
        self._schedule()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Space pauses and Escape stops while playing; otherwise they step and go back."""
        if action in ("pause", "stop_playback"):
            return self._timer is not None if action == "pause" else self.playing
        if action == "resume":
            return self.paused
        if action in ("next", "back"):
            return not self.playing
        if action == "dns_lesson":
            return bool(self.session.lookups)
        return True

    def action_pause(self) -> None:
        """Pause the playback where it is."""
        self._cancel_timer()
        self.paused = True
        self.refresh_bindings()
        self._refresh_status()

    def action_resume(self) -> None:
        """Go on playing."""
        self.paused = False
        self._schedule()
        self.refresh_bindings()
        self._refresh_status()

    def action_stop_playback(self) -> None:
        """Stop the playback; what is shown stays, and the keys step again."""
        self._cancel_timer()
        self.paused = False
        self.sub_title = f"{self.check_title}: step by step"
        self.refresh_bindings()
        self._refresh_status()

    # --- stepping -----------------------------------------------------------------------------

    def action_next(self) -> None:
        """Show the next step (or finish the one in progress)."""
        step = next((s for s in self.steps if s.end > self.shown), None)
        if step is not None:
            self._show(step.end)

    def action_previous(self) -> None:
        """Take the last step away again."""
        self._cancel_timer()
        self.paused = False
        self._show(max((s.end for s in self.steps if s.end < self.shown), default=0))
        self.refresh_bindings()

    def action_all(self) -> None:
        """The whole conversation at once."""
        self._cancel_timer()
        self.paused = False
        self._show(len(self.lines))
        self.refresh_bindings()

    def action_restart(self) -> None:
        """Back to the start (playing again, when this is a timed playback)."""
        was_playing = self.playing
        self._cancel_timer()
        self.paused = False
        self._show(0)
        if was_playing:
            self._schedule()
        self.refresh_bindings()
        self._refresh_status()

    def action_explain(self) -> None:
        """Show or hide the full explanation of the highlighted line."""
        self.toggle_class("-explain")

    def action_save(self) -> None:
        """Save the session (SMTP and DNS) to a JSON file."""
        from mxwizard.ui.screens.lesson_files import SaveSessionScreen

        self.app.push_screen(SaveSessionScreen(self.session))

    def action_dns_lesson(self) -> None:
        """Walk the session's DNS lookups one by one."""
        from mxwizard.ui.screens.dns_lesson import DnsLessonScreen

        self.app.push_screen(DnsLessonScreen(self.check_title, self.session.lookups))

    def action_back(self) -> None:
        """Back to where the lesson was opened."""
        self._cancel_timer()
        self.dismiss()

    def palette_commands(self) -> list[PaletteCommand]:
        """The lesson's keys, for those who prefer the palette."""
        commands: list[PaletteCommand] = [
            ("Next step", "Show the next command and its reply", self.action_next),
            ("Whole conversation", "Show every step at once", self.action_all),
            ("Start again", "Back to before the first step", self.action_restart),
            ("Save the session", "Write the SMTP sessions and DNS lookups to a JSON file",
             self.action_save),
            ("Explain the highlighted line", "Show or hide the full explanation", self.action_explain),
        ]
        if self.session.lookups:
            commands.append(("DNS lesson", "Walk the DNS lookups one by one", self.action_dns_lesson))
        return commands
