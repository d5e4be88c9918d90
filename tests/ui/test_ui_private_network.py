"""The wizard's "private network I control" box: the same policy as ``--private-network``.

An intranet relay on 192.168.1.20 is "behind NAT" to a check that assumes the internet, and a
properly set up server to a check told that the network is the user's own. The box is reached
with the keyboard (Tab to it, space to tick it), as a user over SSH would."""

from __future__ import annotations

from textual.widgets import Checkbox

from mxwizard.core.settings import PRIVATE_NETWORKS, Settings
from mxwizard.ui.app import WizardApp
from mxwizard.ui.screens.form import FormScreen
from mxwizard.ui.screens.verdict import VerdictScreen

SIZE = (80, 24)


async def _run_send(tick: bool) -> tuple[list[str], Settings]:
    app = WizardApp(Settings(timeout=5), lab=True, remember=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.lab_ready.wait()
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        for name, value in (("sender", "alice@intranet.test"), ("recipient", "bob@intranet.test"),
                            ("ip", "192.168.1.20"), ("helo", "relay.intranet.test"),
                            ("dkim_selector", ""), ("message", "")):
            form.query_one(f"#field-{name}").value = value  # type: ignore[attr-defined]
        box = form.query_one("#field-private-network", Checkbox)
        assert not box.value and "Private network" in str(box.label)
        if tick:
            box.focus()
            await pilot.press("space")
            await pilot.pause()
            assert box.value
        await pilot.press("ctrl+r")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        settings = app.last_result.settings  # type: ignore[union-attr]
        assert settings is not None
        return app.screen.diagnosis.ids(), settings


async def test_ticking_the_box_judges_the_intranet_address_as_it_is() -> None:
    ids, settings = await _run_send(tick=True)
    assert set(PRIVATE_NETWORKS) <= set(settings.own_networks)
    assert "ip.private" not in ids
    assert {"ip.ok", "rdns.ok", "helo.ok", "spf.pass", "delivery.accepted"} <= set(ids)


async def test_without_the_box_the_intranet_address_is_behind_nat() -> None:
    ids, settings = await _run_send(tick=False)
    assert "192.168.0.0/16" not in settings.own_networks
    assert "ip.private" in ids
