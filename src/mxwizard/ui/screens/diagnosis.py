"""The diagnosis screen: the decision path with live status, why each step matters, and tabs for
the findings, the SMTP transcript and the DNS lookups, all filled from the runner's events.

The probes run in a worker owned by this screen: ``s`` stops it (once the check has finished,
``s`` saves its session instead), leaving the screen stops it, and a failure inside it is shown
here instead of ending the app. The runner's events come to the screen
as :class:`DiagnosisScreen.Progress` messages, in the order they happened. When the diagnosis
finishes, the verdict screen opens on top; Escape from there comes back here with everything
still in place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Header, OptionList, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from mxwizard.core.findings import worst_status
from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Transcript
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.events import (
    DiagnosisFinished,
    DnsAnswered,
    Event,
    FindingMade,
    SmtpLine,
    StepFinished,
    StepStarted,
)
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.tree import Plan
from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.screens.finding import FindingScreen
from mxwizard.ui.screens.result_keys import open_result_screen, result_commands, result_key_enabled
from mxwizard.ui.widgets.dns import DnsView
from mxwizard.ui.widgets.findings import FindingsView
from mxwizard.ui.widgets.keybar import KeyBar
from mxwizard.ui.widgets.status import status_badge
from mxwizard.ui.widgets.steps import StepList, StepRow
from mxwizard.ui.widgets.tabline import TabLine
from mxwizard.ui.widgets.transcript import TranscriptView
from mxwizard.ui.wizard import Result

#: A server's silence is shown once it lasts this long (seconds): a normal reply comes sooner.
WAIT_SHOWN_AFTER = 1.0
TABS = {"findings": "Findings", "transcript": "SMTP transcript", "dns": "DNS lookups"}


#: The details' tabs as their labels show them: (pane id, label with its key).
TAB_LABELS = (("findings", "Findings (f)"), ("transcript", "Transcript (t)"), ("dns", "DNS (d)"))

class DiagnosisScreen(WizardScreen):
    """Runs one plan (or shows a finished diagnosis again) and shows every event as it happens."""

    HELP_TOPIC = "diagnosis"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("s", "stop", "Stop"),
        # s stops the check while it runs, and saves its session once it has finished
        Binding("s", "save", "Save"),
        Binding("v", "verdict", "Verdict"),
        # r is shown when a check stopped or broke off; after a finished one it still works, but
        # the key bar's room goes to the lesson keys README names (p, l, s)
        Binding("r", "rerun", "Run again"),
        Binding("r", "run_again", "Run again", show=False),
        Binding("f", "tab('findings')", "Findings", show=False),
        Binding("t", "tab('transcript')", "Transcript", show=False),
        Binding("d", "tab('dns')", "DNS", show=False),
        Binding("c", "copy_fix", "Copy fix", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("p", "replay", "SMTP steps"),
        Binding("l", "dns_lesson", "DNS steps"),
        Binding("k", "checklist", "Checklist"),
    ]

    @dataclass
    class Progress(Message):
        """Something happened in the running diagnosis (an event of the runner)."""

        event: Event

    def __init__(self, title: str, plan: Plan, settings: Settings,
                 finished: Diagnosis | None = None) -> None:
        super().__init__()
        self.check_title = title
        self.plan = plan
        #: The settings this diagnosis runs with (kept for "run again").
        self.settings = settings
        #: The finished diagnosis, once there is one (never thrown away while the screen lives).
        self.diagnosis: Diagnosis | None = finished
        self._replay = finished

    @property
    def running(self) -> bool:
        """True while the probes are at work."""
        return any(w.is_running for w in self.workers if w.node is self and w.group == "diagnosis")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="diag-status")
        with Horizontal(id="diag-body"):
            yield StepList([StepRow(s.id, s.title, s.why) for s in self.plan.steps], id="diag-steps")
            with Vertical(id="diag-main"):
                yield Static(id="diag-why")
                yield TabLine(list(TAB_LABELS), id="diag-tabline")
                with TabbedContent(id="diag-tabs"):
                    with TabPane(TAB_LABELS[0][1], id="findings"):
                        yield FindingsView(id="diag-findings")
                    with TabPane(TAB_LABELS[1][1], id="transcript"):
                        yield TranscriptView(id="diag-transcript")
                    with TabPane(TAB_LABELS[2][1], id="dns"):
                        yield DnsView(id="diag-dns")
        yield KeyBar()

    def on_mount(self) -> None:
        """Start the probes, or fill the screen from a diagnosis that already finished."""
        self._talks: dict[int, tuple[Transcript, float]] = {}
        self._probing = self._replay is None
        self.set_interval(0.5, self._show_progress)
        self.sub_title = self.check_title
        if self._replay is not None:
            self._show_finished(self._replay)
        else:
            self._set_status(Content.assemble(("… ", "bold $text-accent"), "Checking. Press s to stop."))
            self.run_diagnosis()
        self.query_one(StepList).focus()

    # --- the worker -------------------------------------------------------------------------

    @work(exclusive=True, group="diagnosis", exit_on_error=False)
    async def run_diagnosis(self) -> Diagnosis:
        """Run the plan; every event updates the screen as it arrives."""
        from mxwizard.diagnosis.runner import Runner

        self.wizard.fresh_lab_run()
        return await Runner(self.plan, self.settings, self._forward).run()

    def _forward(self, event: Event) -> None:
        """The runner's hook: each event becomes a message to this screen."""
        self.post_message(self.Progress(event))

    @on(Progress)
    def show_event(self, message: Progress) -> None:
        """Show one event of the runner."""
        event = message.event
        if isinstance(event, StepStarted):
            self.query_one(StepList).started(event.step)
            self._show_why(event.title, event.why)
        elif isinstance(event, StepFinished):
            self.query_one(StepList).finished(event.step, event.status, event.skipped)
            self._show_progress()
        elif isinstance(event, DnsAnswered):
            self.query_one(DnsView).add_lookup(event.lookup)
        elif isinstance(event, SmtpLine):
            self.query_one(TranscriptView).add_line(event.transcript, event.line)
            self._talks[id(event.transcript)] = (event.transcript, time.monotonic())
        elif isinstance(event, FindingMade):
            self.query_one(FindingsView).add(event.finding)
        elif isinstance(event, DiagnosisFinished):
            self.diagnosis = event.diagnosis

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Finished, stopped or broken: say so, and open the verdict when there is one."""
        if event.worker.group != "diagnosis":
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR):
            self._probing = False
        self.refresh_bindings()
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, Diagnosis):
            self.diagnosis = event.worker.result
            # the reconciliation pass may have rewritten findings shown while they came in
            self.query_one(FindingsView).show_all(self.diagnosis.findings)
            # sessions that ran at the same time were shown interleaved; now one after another
            self.query_one(TranscriptView).show_all(self.diagnosis.transcripts)
            self.wizard.remember_result(Result(self.check_title, self.diagnosis, self.plan, self.settings))
            self._announce(self.diagnosis)
            self.action_verdict()
        elif event.state is WorkerState.CANCELLED:
            self.query_one(StepList).stopped()
            self._set_status(Content.assemble(("■ ", "bold"), "Stopped. Press r to run it again."))
        elif event.state is WorkerState.ERROR:
            self.query_one(StepList).stopped()
            self._set_status(Content.assemble(
                ("✖ ", "bold $text-error"),
                f"The check broke off: {visible(str(event.worker.error), 200)}. Press r to try again."))

    # --- showing -------------------------------------------------------------------------------

    def _show_progress(self) -> None:
        """How far the check is, and — when a server keeps us waiting — for what, and how long
        at most ("waiting up to 10 s for mx1.example.org [192.0.2.1]:25, 7 s left")."""
        if not self._probing:
            return
        steps = self.query_one(StepList)
        text = f"Checking: {steps.done_count()} of {len(steps.rows)} steps done. Press s to stop."
        now = time.monotonic()
        waits = [(now - since, transcript) for transcript, since in self._talks.values()
                 if transcript.waiting and now - since >= WAIT_SHOWN_AFTER]
        if waits:
            waited, transcript = max(waits, key=lambda w: w[0])
            limit = self.settings.timeout
            left = max(0.0, limit - waited)
            where = f"{visible(transcript.host, 40)}:{transcript.port}"
            text = f"Waiting up to {limit:g} s for {where}, {left:.0f} s left"
        self._set_status(Content.assemble(("… ", "bold $text-accent"), text))

    def _set_status(self, content: Content) -> None:
        """One line, always (app.tcss): a new text repaints that line and lays out nothing; the
        same text (the progress timer, twice a second) does nothing at all."""
        status = self.query_one("#diag-status", Static)
        if status.content != content:
            status.update(content, layout=False)

    def _show_why(self, title: str, why: str) -> None:
        self.query_one("#diag-why", Static).update(
            Content.assemble((title, "bold"), "\n", why or "This step has no explanation yet."))

    def _announce(self, diagnosis: Diagnosis) -> None:
        verdict = diagnosis.verdict
        self._set_status(Content.assemble(
            status_badge(verdict.status), " ", visible(verdict.summary, 200), "  (v: verdict)"))

    def _show_finished(self, diagnosis: Diagnosis) -> None:
        steps = self.query_one(StepList)
        for step in self.plan.steps:
            worst = worst_status(f for f in diagnosis.findings if f.step == step.id)
            steps.finished(step.id, worst, skipped=worst is None)
        self.query_one(FindingsView).show_all(diagnosis.findings)
        self.query_one(TranscriptView).show_all(diagnosis.transcripts)
        self.query_one(DnsView).show_all(diagnosis.lookups)
        self._announce(diagnosis)

    @on(OptionList.OptionHighlighted, "#diag-steps")
    def step_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """A step highlighted in the path: show why it matters."""
        if event.option.id:
            row = self.query_one(StepList).rows.get(event.option.id)
            if row is not None:
                self._show_why(row.title, row.why)

    @on(OptionList.OptionSelected, "#diag-steps")
    def step_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a step: show its findings."""
        if event.option.id:
            self.jump_to_step(event.option.id)

    @on(FindingsView.Chosen)
    def open_finding(self, message: FindingsView.Chosen) -> None:
        """A finding chosen in the list: open it on a whole screen, where the arrows scroll to
        the end."""
        self.app.push_screen(FindingScreen(message.finding))

    def jump_to_step(self, step: str) -> None:
        """Highlight a step, explain it, and show its first finding."""
        steps = self.query_one(StepList)
        index = next((i for i, s in enumerate(self.plan.steps) if s.id == step), None)
        if index is not None:
            steps.highlighted = index
        findings = self.query_one(FindingsView)
        if findings.select_step(step):
            self.action_tab("findings")

    # --- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that make sense now appear in the footer."""
        if action == "stop":
            return self.running
        if action == "verdict":
            return self.diagnosis is not None
        if action == "rerun":
            return not self.running and self.diagnosis is None
        if action == "run_again":
            return not self.running
        shared = result_key_enabled(action, self.diagnosis)
        return True if shared is None else shared

    def action_stop(self) -> None:
        """Stop the probes (what was found so far stays on screen)."""
        self.workers.cancel_group(self, "diagnosis")

    def action_back(self) -> None:
        """Back to the form; running probes stop, a finished result stays in the app."""
        self.workers.cancel_group(self, "diagnosis")
        self.dismiss()

    def action_verdict(self) -> None:
        """Open the verdict of the finished diagnosis."""
        if self.diagnosis is not None:
            from mxwizard.ui.screens.verdict import VerdictScreen

            self.app.push_screen(VerdictScreen(self.check_title, self.diagnosis))

    def action_rerun(self) -> None:
        """Run the same plan again on a fresh screen (this one is replaced)."""
        self.app.switch_screen(DiagnosisScreen(self.check_title, self.plan, self.settings))

    def action_run_again(self) -> None:
        """r after a finished check (the binding the key bar does not show): as :meth:`action_rerun`."""
        self.action_rerun()

    def action_save(self) -> None:
        """Save the session (SMTP and DNS) to a JSON file, in the step-through's dialog."""
        open_result_screen(self.app, "save", self.check_title, self.diagnosis)

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.query_one(TabLine).show_active(event.pane.id)

    @on(TabLine.Chosen)
    def _tab_clicked(self, event: TabLine.Chosen) -> None:
        self.action_tab(event.pane)

    def action_tab(self, tab: str) -> None:
        """Switch to a tab and put the keyboard there."""
        self.query_one(TabbedContent).active = tab
        if tab == "findings":
            self.query_one(FindingsView).option_list.focus()
        elif tab == "transcript":
            self.query_one(TranscriptView).option_list.focus()
        else:
            self.query_one(DnsView).focus()

    def action_replay(self) -> None:
        """Step through the SMTP sessions one command per key press (for lessons)."""
        open_result_screen(self.app, "replay", self.check_title, self.diagnosis)

    def action_dns_lesson(self) -> None:
        """Walk the DNS lookups one per key press (for lessons)."""
        open_result_screen(self.app, "dns_lesson", self.check_title, self.diagnosis)

    def action_checklist(self) -> None:
        """The big providers' sender rules, one row each (send checks)."""
        open_result_screen(self.app, "checklist", self.check_title, self.diagnosis)

    def action_zoom(self) -> None:
        """Give the tabs the whole width (the path and the "why" hide), or bring them back."""
        self.toggle_class("-zoomed")

    def action_copy_fix(self) -> None:
        """Copy the highlighted finding's fix to the clipboard."""
        finding = self.query_one(FindingsView).current
        self.wizard.copy_fix(finding)

    def palette_commands(self) -> list[PaletteCommand]:
        """Jump to any step of the path, or to a tab."""
        commands: list[PaletteCommand] = [
            (f"Step: {step.title}", "Show this step and its findings",
             partial(self.jump_to_step, step.id))
            for step in self.plan.steps
        ]
        commands += [(f"Show: {label}", "Switch tab", partial(self.action_tab, tab))
                     for tab, label in TABS.items()]
        if self.diagnosis is not None:
            commands.append(("Show: verdict", "The headline and the fixes", self.action_verdict))
            commands += result_commands(self.app, self.check_title, self.diagnosis)
        commands.append(("Zoom the tabs", "Hide the path to give the tabs the whole width",
                         self.action_zoom))
        if self.running:
            commands.append(("Stop the check", "Cancel the probes still running", self.action_stop))
        return commands
