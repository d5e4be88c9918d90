"""Fixtures for the wizard's tests: an isolated config directory and working directory, fake
plans for branches whose plan builders are not written yet, and a reader of the screen's text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.transcript import Direction, TranscriptLine
from mxwizard.diagnosis.tree import FactKey, Facts, Plan, Step


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own config directory (last.json) and working directory (exports)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def screen_text(app: App[Any]) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


def _session_step(step_id: str, lines: list[tuple[str, str, str]], findings: list[Finding],
                  title: str = "SMTP conversation", delay: float = 0.0) -> Step[Any]:
    """A step that 'talks' to a server: writes the given lines to a transcript, then judges."""

    async def observe(ctx: Any) -> int:
        sink = ctx.session("mx.fake.test", "127.0.0.9", 2525)
        for t, (direction, text, note) in enumerate(lines):
            if delay:
                await asyncio.sleep(delay)
            sink(TranscriptLine(float(10 * t), Direction(direction), text, note,
                                encrypted=direction != "info" and t >= 6))
        return len(lines)

    def judge(facts: Facts, observed: int) -> list[Finding]:
        return findings

    return Step(FactKey(step_id), title, f"Why {title.lower()} matters, in plain words.", observe,
                judge)


def _quiet_step(step_id: str, title: str, findings: list[Finding], after: tuple[str, ...] = (),
                seconds: float = 0.0, applies: bool = True) -> Step[Any]:
    async def observe(ctx: Any) -> None:
        await asyncio.sleep(seconds)

    def judge(facts: Facts, observed: None) -> list[Finding]:
        return findings

    return Step(FactKey(step_id), title, f"Why {title.lower()} matters.", observe, judge,
                after=tuple(FactKey(dep) for dep in after),
                skip=None if applies else (lambda facts: "it does not apply here"))


CONVERSATION = [
    ("info", "connecting to 127.0.0.9 port 2525", "a TCP connection to the server"),
    ("S", "220 mx.fake.test ESMTP ready", "the server greets us"),
    ("C", "EHLO wizard.example", "we introduce ourselves"),
    ("S", "250-mx.fake.test\r\n250 STARTTLS", "the server lists what it can do"),
    ("C", "STARTTLS", "we ask for encryption"),
    ("S", "220 go ahead", "the server agrees"),
    ("C", "MAIL FROM:<>", "an empty sender, as bounces use"),
    ("S", "250 2.1.0 Ok", ""),
    ("C", "RCPT TO:<postmaster@fake.test>", "the mailbox we ask about"),
    ("S", "550 5.7.1 Relay access denied", "the server refuses the domain"),
    ("C", "QUIT", ""),
    ("S", "221 Bye", ""),
]


def fake_plan(kind: str = "receive", slow: float = 0.0) -> Plan:
    """A small deterministic plan: one pass, one SMTP conversation with a failure, one warning."""
    fail = Finding(
        "smtp.domain-not-accepted", Status.FAIL, "mx.fake.test does not accept mail for fake.test",
        detail="The server answered RCPT with 550 5.7.1: it does not know the domain is its own.",
        fix="Add the domain to the server's accepted domains, for Postfix:\n"
            "  mydestination = fake.test, localhost",
        side=Side.YOU, evidence=("RCPT TO:<postmaster@fake.test>", "550 5.7.1 Relay access denied"))
    warn = Finding("mx.single", Status.WARN, "fake.test has only one MX host",
                   detail="If it is down, senders queue mail until it is back.",
                   fix="Publish a second MX record:\n  fake.test. 3600 IN MX 20 mx2.fake.test.",
                   side=Side.YOU)
    ok = Finding("mx.ok", Status.PASS, "fake.test has 1 MX record",
                 evidence=("fake.test. 300 IN MX 10 mx.fake.test.",))
    steps = (
        _quiet_step("mx", "MX records", [ok, warn], seconds=slow),
        _session_step("smtp", CONVERSATION, [fail], "SMTP conversation"),
        _quiet_step("later", "A step that does not apply", [], after=("mx",), applies=False),
    )
    return Plan(kind, {"domain": "fake.test", "shown": "fake.test"}, steps)


@pytest.fixture
def make_plan() -> Any:
    """The fake plan factory (``make_plan(kind, slow=seconds)``)."""
    return fake_plan


@pytest.fixture
def read_screen() -> Any:
    """The screen reader (``read_screen(app)`` returns the visible text)."""
    return screen_text
