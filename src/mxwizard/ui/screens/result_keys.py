"""The keys of a finished diagnosis that the details and the verdict screen share: save the
session (s), step through its SMTP conversation (p), walk its DNS lookups (l), the sender
checklist (k). Defined once, so that the two screens offer the same keys for the same results
and open the same screens; each screen keeps one-line ``action_*`` methods (Textual finds
actions there) that call :func:`open_result_screen`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.app import App

from mxwizard.diagnosis.result import Diagnosis
from mxwizard.ui.screens.base import PaletteCommand


def _has_session(diagnosis: Diagnosis) -> bool:
    """SMTP sessions or DNS lookups to save or step through (an explained bounce has neither)."""
    return bool(diagnosis.transcripts or diagnosis.lookups)


_APPLIES: dict[str, Callable[[Diagnosis], bool]] = {
    "save": _has_session,
    "replay": _has_session,
    "dns_lesson": lambda diagnosis: bool(diagnosis.lookups),
    "checklist": lambda diagnosis: bool(diagnosis.checklist),
}


def result_key_enabled(action: str, diagnosis: Diagnosis | None) -> bool | None:
    """For a screen's ``check_action``: whether a shared key applies to this result (its screen
    would not be empty); None when ``action`` is not one of them."""
    applies = _APPLIES.get(action)
    if applies is None:
        return None
    return diagnosis is not None and applies(diagnosis)


def open_result_screen(app: App[Any], action: str, title: str, diagnosis: Diagnosis | None) -> None:
    """Open the screen of a shared key, if it applies to this result."""
    if diagnosis is None or not result_key_enabled(action, diagnosis):
        return
    if action == "save":
        from mxwizard.replay.session_files import session_of
        from mxwizard.ui.screens.lesson_files import SaveSessionScreen

        app.push_screen(SaveSessionScreen(session_of(diagnosis)))
    elif action == "replay":
        from mxwizard.replay.session_files import session_of
        from mxwizard.ui.screens.replay import ReplayScreen

        app.push_screen(ReplayScreen(title, session_of(diagnosis)))
    elif action == "dns_lesson":
        from mxwizard.ui.screens.dns_lesson import DnsLessonScreen

        app.push_screen(DnsLessonScreen(title, diagnosis.lookups))
    elif action == "checklist":
        from mxwizard.ui.screens.checklist import ChecklistScreen

        app.push_screen(ChecklistScreen(title, diagnosis))


def result_commands(app: App[Any], title: str, diagnosis: Diagnosis) -> list[PaletteCommand]:
    """The shared keys as command-palette entries, those that apply to this result."""
    described = (
        ("replay", "Step through the SMTP conversation", "One command per key press"),
        ("dns_lesson", "DNS lesson", "The DNS lookups one per key press, dig-style"),
        ("save", "Save the session", "Write the SMTP sessions and DNS lookups to a JSON file"),
        ("checklist", "Sender checklist", "Gmail's, Yahoo's and Outlook.com's sender rules"),
    )
    return [(name, help_text, partial(open_result_screen, app, action, title, diagnosis))
            for action, name, help_text in described if result_key_enabled(action, diagnosis)]
