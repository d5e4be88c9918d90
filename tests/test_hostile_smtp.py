"""Every hostile SMTP host of the lab, checked the way a user checks it: the check ends in time,
says what went wrong in plain words, and shows the server's bytes escaped in text and in JSON.

The hosts are real servers on 127.0.4.x (``mxwizard.lab.hostile``); the checks run the real CLI.
The hosts that attack time and concurrency (slow, trickle, many) take their whole budget by
design and are checked in tests/test_bounds_smtp.py, in a subprocess with its clock and memory.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from mxwizard.cli import main
from mxwizard.core.findings import Status
from mxwizard.core.inputs import parse_host_port
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans import relay
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.hostile import HOSTILE_HOSTS, MARKUP_ATTACK, HostileHost
from mxwizard.lab.scenarios import SCENARIOS
from mxwizard.lab.world import World
from mxwizard.probes.smtp.protocol import MAX_SESSION_LINES

#: Short: the drip, no-EOL and TLS-silence hosts are waited out once (the lab answers the rest
#: in milliseconds), and what is checked is how the wait ends, not its length.
TIMEOUT = 1.0
#: A generous bound that proves "did not hang": a hang runs into the step budgets (16 x timeout
#: for the SMTP step) or forever. The slowest behaviours wait out one timeout, twice at most.
HANG_BOUND = 4 * TIMEOUT + 5

#: What each behaviour must produce. Two are legal SMTP and end in an ordinary finding: a 421 in
#: the middle of the session is a deferral (what a real sender experiences), and markup in reply
#: text is allowed text (what matters is that it is shown inert, tested below and in the TUI).
EXPECTED: dict[str, tuple[str, ...]] = {
    "garbage": ("smtp.protocol-error",),
    "noeol": ("smtp.protocol-error",),
    "longline": ("smtp.protocol-error",),
    "endless": ("smtp.protocol-error", "smtp.untested"),
    "drip": ("smtp.protocol-error",),
    "cut": ("smtp.protocol-error", "smtp.untested"),
    "outofstep": ("smtp.protocol-error",),
    "unsolicited": ("smtp.protocol-error",),
    "421": ("smtp.tempfail",),
    "tlssilence": ("smtp.tls-failed", "smtp.untested"),
    "tlsgarbage": ("smtp.tls-failed", "smtp.untested"),
    "binary": ("smtp.protocol-error",),
    "markup": ("smtp.mailbox-unknown",),
    "escapes": ("smtp.protocol-error",),
    "bigehlo": ("smtp.protocol-error", "smtp.untested"),
    "flood": ("smtp.protocol-error", "smtp.untested"),
}
LEGAL_SMTP = {"421", "markup"}
#: The hosts checked in tests/test_bounds_smtp.py instead (each takes a whole budget, on purpose).
BOUNDS_HOSTS = {"slow", "trickle", "many"}
PROTOCOL_HOSTS = tuple(h for h in HOSTILE_HOSTS if h.behaviour not in BOUNDS_HOSTS)
#: The hosts whose check waits out one timeout (they send nothing more to be read).
WAITED_OUT = {"drip", "noeol", "tlssilence"}

#: What must never reach a terminal: C0 controls but newline, DEL, C1 controls, bidi and
#: invisible format characters, lone surrogates.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
                    "\ud800-\udfff]")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``mxwizard ARGS`` in this process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _host(behaviour: str) -> HostileHost:
    return next(h for h in HOSTILE_HOSTS if h.behaviour == behaviour)


def test_every_behaviour_is_a_scenario_and_has_an_expectation() -> None:
    assert {h.behaviour for h in PROTOCOL_HOSTS} == set(EXPECTED)
    assert len(HOSTILE_HOSTS) == 19
    assert {h.behaviour for h in HOSTILE_HOSTS} == set(EXPECTED) | BOUNDS_HOSTS
    domains = {s.args[2] for s in SCENARIOS if s.kind == "receive"}
    assert {h.domain for h in PROTOCOL_HOSTS} <= domains


@pytest.mark.parametrize("host", PROTOCOL_HOSTS, ids=lambda h: h.behaviour)
def test_receive_check_ends_in_time_with_plain_findings(
    host: HostileHost, check_json: Callable[[list[str]], tuple[int, Any]]
) -> None:
    started = time.monotonic()
    code, report = check_json(["check", "receive", host.domain, "--lab", "--timeout", str(TIMEOUT)])
    elapsed = time.monotonic() - started
    assert elapsed < HANG_BOUND, f"{host.behaviour}: {elapsed:.1f} s"
    found = {f["id"]: f for f in report["findings"]}
    assert [i for i in EXPECTED[host.behaviour] if i not in found] == [], list(found)
    if host.behaviour not in LEGAL_SMTP:
        assert "smtp.protocol-error" in found or any(f["status"] == "error" for f in found.values())
    for finding in report["findings"]:
        for text in (finding["title"], finding["detail"], finding["fix"], *finding["evidence"]):
            assert not UNSAFE.search(text), (finding["id"], text)
            assert "Anomaly(" not in text, "a finding must say what went wrong in words"
    assert code in (0, 1, 3)


@pytest.mark.parametrize("host", PROTOCOL_HOSTS, ids=lambda h: h.behaviour)
def test_transcript_shows_the_bytes_escaped_in_json_and_text(
    host: HostileHost, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", "receive", host.domain, "--lab", "--timeout", str(TIMEOUT)]
    _, out, err = run_cli([*args, "--format", "json"], capsys)
    assert "Traceback" not in err
    raw_json = out
    report = json.loads(raw_json)
    [transcript] = [t for t in report["transcripts"] if t["ip"] == host.ip]
    server_lines = [line["text"] for line in transcript["lines"] if line["dir"] == "S"]
    assert server_lines, "the server's bytes must be in the transcript"
    for line in transcript["lines"]:
        assert not UNSAFE.search(line["text"] + line["note"]), line
        assert len(line["text"]) <= 1000 + 20
    _, text_out, _ = run_cli([*args, "--format", "text"], capsys)
    for shown in (text_out, json.dumps(report, ensure_ascii=False)):
        assert not UNSAFE.search(shown.replace("\n", " "))
    joined = "\n".join(server_lines)
    if host.behaviour == "escapes":
        assert "\\e[2J" in joined and "\\e]2;pwned-title\\x07" in joined and "\\e]52;c;" in joined
        assert "\\u202e" in joined
        assert "\\e]52;c;" in text_out or "\\e[2J" in text_out
    if host.behaviour == "binary":
        assert "\\xff\\xfe" in joined
    if host.behaviour == "garbage":
        assert "\\x00\\xff\\xfe" in joined
    if host.behaviour == "markup":
        assert MARKUP_ATTACK in joined  # kept as plain text: shown, never interpreted
    if host.behaviour in ("endless", "bigehlo"):
        assert len(server_lines) <= 210, "an endless reply must be cut, not recorded forever"
    if host.behaviour == "flood":
        assert len(server_lines) == MAX_SESSION_LINES, "a flood is cut at the session's cap"
        markers = [line["text"] for line in transcript["lines"] if "were not recorded" in line["text"]]
        assert len(markers) == 1 and re.match(r"… \d+ more lines from the server", markers[0])
        assert "cut off" in text_out
    if host.behaviour == "longline":
        assert any(line.endswith(")") and "…(+" in line for line in server_lines)


@pytest.mark.asyncio(loop_scope="module")  # one lab for the module's in-process checks
@pytest.mark.parametrize("host", PROTOCOL_HOSTS, ids=lambda h: h.behaviour)
async def test_relay_check_ends_in_time_and_never_sends_data(shared_lab: World, host: HostileHost) -> None:
    lab = shared_lab
    assert lab.hostile is not None
    before = len(lab.hostile.sessions(host.ip))  # earlier tests of the module talked to it too
    started = time.monotonic()
    diagnosis = await diagnose(relay.plan(parse_host_port(host.ip)), lab.point(Settings(timeout=TIMEOUT)))
    assert time.monotonic() - started < HANG_BOUND
    assert diagnosis.findings
    sessions = lab.hostile.sessions(host.ip)[before:]
    assert sessions, "the relay test must have talked to the host"
    for session in sessions:
        assert not any(c.upper().startswith(("DATA", "AUTH")) for c in session.commands), session
    if host.behaviour in ("garbage", "noeol", "longline", "drip", "endless", "cut", "bigehlo",
                          "flood"):
        assert any(f.status is Status.ERROR for f in diagnosis.findings), diagnosis.ids()


@pytest.mark.asyncio(loop_scope="module")
async def test_hostile_hosts_saw_no_data_and_no_auth_in_receive_checks(shared_lab: World) -> None:
    lab = shared_lab
    from mxwizard.core.inputs import parse_domain
    from mxwizard.diagnosis.plans import receive

    async def check(hosts: list[HostileHost]) -> None:
        for host in hosts:
            await diagnose(receive.plan(parse_domain(host.domain)), lab.point(Settings(timeout=1)))

    # the hosts that only make us wait are checked beside the others, each on its own
    waiting = [h for h in HOSTILE_HOSTS if h.behaviour in BOUNDS_HOSTS | WAITED_OUT]
    others = [h for h in HOSTILE_HOSTS if h not in waiting]
    await asyncio.gather(check(others), *(check([h]) for h in waiting))
    assert lab.hostile is not None
    for host in HOSTILE_HOSTS:
        for session in lab.hostile.sessions(host.ip):
            assert not any(c.upper().startswith(("DATA", "AUTH")) for c in session.commands), session
    # the hosts that read commands saw our EHLO with the probe's name
    assert lab.hostile.sessions(_host("outofstep").ip)[-1].helo == "probe.mxwizard.invalid"
