"""The first screen: what is the trouble? Sending, receiving, a bounce, an open relay, or lessons."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from mxwizard.ui.screens.base import PaletteCommand, WizardScreen
from mxwizard.ui.widgets.keybar import KeyBar

#: The choices, in the order shown, with their number keys.
CHOICES: tuple[tuple[str, str, str], ...] = (
    ("send", "1", "I can't send: my mail is rejected, bounced or lost"),
    ("receive", "2", "I can't receive: mail to my domain does not arrive"),
    ("bounce", "3", "I got a bounce and want to know what it means"),
    ("relay", "4", "Is my server an open relay?"),
    ("lessons", "5", "Lessons: watch SMTP at work in the built-in lab"),
)


class WelcomeScreen(WizardScreen):
    """Pick the symptom; everything else follows from it."""

    HELP_TOPIC = "welcome"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose('send')", "Send", show=False),
        Binding("2", "choose('receive')", "Receive", show=False),
        Binding("3", "choose('bounce')", "Bounce", show=False),
        Binding("4", "choose('relay')", "Relay", show=False),
        Binding("5", "choose('lessons')", "Lessons", show=False),
        Binding("l", "last_result", "Last result"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Content.assemble(
            ("Why doesn't my mail get through?", "bold"), "\n",
            "Pick what is going wrong. The wizard then checks it step by step, the way an "
            "experienced postmaster would, and tells you whose side the fault is on and how to "
            "fix it.",
        ), id="welcome-intro")
        yield OptionList(
            *[Option(Content.assemble((f" {key} ", "bold reverse"), "  ", text), id=choice)
              for choice, key, text in CHOICES],
            id="welcome-choices",
        )
        yield Static(id="welcome-mode")
        yield KeyBar()

    def on_mount(self) -> None:
        """Focus the choices and say which network the checks will use."""
        self.query_one("#welcome-choices", OptionList).focus()
        self.refresh_mode()

    def on_screen_resume(self) -> None:
        """Coming back: the "last result" key may have become useful."""
        self.refresh_mode()
        self.refresh_bindings()

    def refresh_mode(self) -> None:
        """The line under the choices: lab or real network, and the last result if any."""
        wizard = self.wizard
        if wizard.want_lab and not wizard.lab_ready.is_set():
            pending = next((text for choice, _, text in CHOICES
                            if choice == wizard.pending_choice), "")
            then = f" Then: {pending}" if pending else ""
            mode = Content.assemble(("LAB ", "bold reverse"), f" Starting the built-in lab…{then}")
        elif wizard.lab_problem:
            mode = Content.assemble(("! ", "bold $text-error"), wizard.lab_problem)
        elif wizard.world is not None:
            world = wizard.world
            moved = "".join(f" Note: {note}." for note in getattr(world, "moved", ()))
            mode = Content.assemble(
                ("LAB ", "bold reverse"),
                " Everything runs against the built-in lab on this machine; no mail leaves it. "
                f"Its DNS: {world.dns_addr}:{world.dns_port}, its mail hosts: port "
                f"{world.smtp_port}.{moved}")
        else:
            mode = Content("Checks use the real network: DNS queries and SMTP connections on port "
                           f"{wizard.settings.smtp_port}.")
        if wizard.last_result is not None:
            mode = Content.assemble(mode, "\n", "Press l to see the last result again.")
        self.query_one("#welcome-mode", Static).update(mode)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a choice."""
        event.stop()
        if event.option.id:
            self.action_choose(event.option.id)

    def action_choose(self, choice: str) -> None:
        """Go to the screen for a symptom."""
        self.wizard.open_choice(choice)

    def action_last_result(self) -> None:
        """Show the last finished diagnosis again."""
        self.wizard.show_last_result()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "last result" only when there is one."""
        if action == "last_result":
            return self.wizard.last_result is not None
        return True

    def palette_commands(self) -> list[PaletteCommand]:
        """Each symptom is a command too."""
        return [(f"Check: {text}", "Start this check", partial(self.action_choose, choice))
                for choice, _, text in CHOICES]
