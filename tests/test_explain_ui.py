"""The wizard's bounce screen hands over to the send check: the form opens filled in with the
sender, recipient, IP and HELO that the explained bounce named."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from mxwizard.core.settings import Settings
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.bounce import SEND_WITH_VALUES, BounceScreen, BounceVerdictScreen
from mxwizard.ui.screens.form import FormScreen

CORPUS = Path(__file__).parent / "bounces"
SIZE = (100, 32)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)


def fields(screen: FormScreen) -> dict[str, str]:
    return {field.name: screen.query_one(f"#field-{field.name}", Input).value
            for field in screen.check.fields}


async def test_the_explained_bounce_opens_the_send_form_filled_in() -> None:
    bounce = next(p for p in CORPUS.iterdir() if p.name.endswith("-gmail-rdns-or-helo-you.eml")
                  and "gil@gmail.com" in p.read_text())
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BounceScreen)
        assert not screen.check_action("send_check", ()), "nothing to hand over before an explanation"
        screen.query_one(TextArea).text = bounce.read_text()
        await pilot.press("ctrl+r")
        await pilot.pause()
        verdict = app.screen
        assert isinstance(verdict, BounceVerdictScreen)
        assert any(binding.description == SEND_WITH_VALUES for binding in verdict.BINDINGS
                   if not isinstance(binding, tuple))
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen) and form.check.kind == "send"
        assert fields(form) == {"sender": "alice@example.org", "recipient": "gil@gmail.com",
                                "ip": "198.51.100.23", "helo": "mail.example.org", "dkim_selector": "",
                                "message": ""}
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, BounceScreen)
        assert app.screen.check_action("send_check", ())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen) and fields(app.screen)["ip"] == "198.51.100.23"


async def test_pasted_log_lines_are_explained_on_the_bounce_screen() -> None:
    app = WizardApp(Settings(), lab=False, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one(TextArea).text = (CORPUS / "logs" / "exim-mainlog").read_text()
        await pilot.press("ctrl+r")
        await pilot.pause()
        verdict = app.screen
        assert isinstance(verdict, BounceVerdictScreen)
        assert "bounce.user-unknown" in verdict.diagnosis.ids()
        assert "maillog.summary" in verdict.diagnosis.ids()
