"""The bounds of SMTP work hold against the lab's hosts that attack them, measured from outside.

Each check runs the way a user runs it, ``mxwizard check ... --lab --timeout 2 --format json``,
in a subprocess of its own, and is measured there: its wall clock, the peak resident memory of
the process (its own ``rusage``, from ``wait4``), and the size of what it printed. The bounds are
the documented ones (the index is in :mod:`mxwizard.probes.smtp.session`) plus a generous margin for
starting Python and the lab on a busy machine; they prove "bounded", they do not time anything.

The hosts (``mxwizard.lab.hostile``): ``flood`` follows every reply with 5,000 extra lines,
``slow`` answers every command 1.7 s late, ``trickle`` drips every reply over 1.7 s (each reply
in time for a 2 s limit, the conversation not), and ``many`` is forty MX records of one host that
says in its greeting how many sessions it has open at once.

The checks are independent processes, so they run at the same time (the slow ones mostly wait):
the first test that needs a result starts them all.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import early
from mxwizard.core.inputs import parse_address, parse_domain
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans import receive, relay, send
from mxwizard.diagnosis.plans.relay import RELAY_TIMEOUTS
from mxwizard.diagnosis.plans.visits import MAX_MX_HOSTS, SENDER_MX_HOSTS, SMTP_SESSIONS
from mxwizard.diagnosis.runner import diagnose
from mxwizard.diagnosis.tree import Facts
from mxwizard.lab.hostile import HOSTILE_HOSTS, MANY_MX
from mxwizard.lab.world import World
from mxwizard.probes.smtp.protocol import MAX_SESSION_LINES
from mxwizard.probes.smtp.session import CUT_OFF, SESSION_TIMEOUTS, ConnectOutcome, Reply, SessionFacts

TIMEOUT = 2.0
#: Added to every documented bound: starting Python, importing, starting the lab and looking up
#: the domain, on two cores shared with other work. Generous on purpose; the attacks without the
#: bounds took 2.5 to 50 times longer than a bound.
MARGIN_SECONDS = 15.0
#: Peak resident memory allowed to one check (it needs about 50 MB).
MAX_RSS_MB = 400
#: Most JSON one check may print (a capped session is a few hundred short lines).
MAX_JSON_BYTES = 3_000_000
#: A check still running after this long is killed (and fails its test): nothing may hang the suite.
KILL_SECONDS = 240.0

SESSION_BOUND = SESSION_TIMEOUTS * TIMEOUT
RELAY_BOUND = RELAY_TIMEOUTS * TIMEOUT
TOO_SLOW = "answered slowly but within each reply's time limit"
SENDER = ("--from", "alice@home.test", "--ip", "127.0.1.10", "--helo", "mail.home.test",
          "--source-ip", "127.0.1.10")


def _ip(behaviour: str) -> str:
    return next(h.ip for h in HOSTILE_HOSTS if h.behaviour == behaviour)


@dataclass(frozen=True)
class Case:
    """One check against one hostile host, and the bound its documentation promises."""

    name: str
    args: tuple[str, ...]
    #: Seconds the SMTP work may take by the documented bounds.
    bound: float


CASES = (
    Case("relay-flood", ("check", "relay", _ip("flood")), RELAY_BOUND),
    Case("receive-flood", ("check", "receive", "hostile-flood.test"), SESSION_BOUND),
    Case("relay-slow", ("check", "relay", _ip("slow")), RELAY_BOUND),
    Case("receive-slow", ("check", "receive", "hostile-slow.test"), SESSION_BOUND),
    Case("relay-trickle", ("check", "relay", _ip("trickle")), RELAY_BOUND),
    Case("receive-trickle", ("check", "receive", "hostile-trickle.test"), SESSION_BOUND),
    # the visits run in waves of SMTP_SESSIONS; the rehearsal tries its hosts one by one
    Case("receive-many", ("check", "receive", "hostile-many.test"),
         math.ceil(MAX_MX_HOSTS / SMTP_SESSIONS) * SESSION_BOUND),
    Case("send-many", ("check", "send", *SENDER, "--to", "bob@hostile-many.test"),
         SENDER_MX_HOSTS * SESSION_BOUND),
)


@dataclass
class Measured:
    """What one check did, seen from outside."""

    case: Case
    status: int | None  # None: killed after KILL_SECONDS
    seconds: float
    peak_rss_mb: float
    stdout: bytes
    stderr: str

    @property
    def report(self) -> Any:
        return json.loads(self.stdout)

    def findings(self, *ids: str) -> list[dict[str, Any]]:
        return [f for f in self.report["findings"] if not ids or f["id"] in ids]


#: Runs the check as its child and writes the child's peak memory (KB) to the file named first.
#: The check is not started from pytest itself: a child forked from a process keeps that
#: process's memory until it execs, and its peak would count pytest's size, not its own.
_MEASURING = (
    "import resource, subprocess, sys\n"
    "status = subprocess.call(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(status)\n"
)


def _start(case: Case, folder: Path) -> tuple[subprocess.Popen[bytes], float]:
    argv = [sys.executable, "-m", "mxwizard", *case.args, "--lab", "--timeout", f"{TIMEOUT:g}",
            "--format", "json"]
    with open(folder / f"{case.name}.json", "wb") as out, \
            open(folder / f"{case.name}.err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURING, str(folder / f"{case.name}.rss"), *argv],
            stdout=out, stderr=err, start_new_session=True)
    return proc, time.monotonic()


def _measure_all(cases: tuple[Case, ...], stop: threading.Event) -> dict[str, Measured]:
    """Run every case at once, each measured by a small process of its own."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        running = {case.name: (case, *_start(case, folder)) for case in cases}
        results: dict[str, Measured] = {}
        while running:
            time.sleep(0.05)
            for key, (case, proc, started) in list(running.items()):
                seconds = time.monotonic() - started
                status = proc.poll()
                if status is None and seconds < KILL_SECONDS and not stop.is_set():
                    continue
                if status is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                rss = folder / f"{case.name}.rss"
                results[key] = Measured(
                    case, status, seconds,
                    int(rss.read_text()) / 1024 if rss.exists() else math.inf,
                    (folder / f"{case.name}.json").read_bytes(),
                    (folder / f"{case.name}.err").read_text("utf-8", "replace"))
                del running[key]
    return results


#: The name of the cases' run in tests/early.py.
EARLY_JOB = "bounds-smtp"


def _measure_all_json(stop: threading.Event) -> dict[str, Any]:
    """Every case's measurement, as JSON (the run may happen in another worker of the test run)."""
    return {name: {"status": m.status, "seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb,
                   "stdout": m.stdout.decode("latin-1"), "stderr": m.stderr}
            for name, m in _measure_all(CASES, stop).items()}


def start_early() -> None:
    """Start every case now, in the background, once per test run (tests/conftest.py calls it
    as the session starts; tests/early.py)."""
    early.start(EARLY_JOB, _measure_all_json)


@pytest.fixture(scope="module")
def measured() -> dict[str, Measured]:
    """Every case, run once for the whole test run (they run at the same time)."""
    by_name = {case.name: case for case in CASES}
    runs = early.result(EARLY_JOB, _measure_all_json, KILL_SECONDS + 60)
    return {name: Measured(by_name[name], run["status"], run["seconds"], run["peak_rss_mb"],
                           run["stdout"].encode("latin-1"), run["stderr"])
            for name, run in runs.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_check_ends_within_its_bound_in_little_memory(
    case: Case, measured: dict[str, Measured]
) -> None:
    run = measured[case.name]
    summary = f"{case.name}: {run.seconds:.1f} s, {run.peak_rss_mb:.0f} MB, {len(run.stdout)} bytes"
    print(summary)
    assert run.status is not None, f"killed after {KILL_SECONDS:g} s: {summary}"
    assert run.status in (0, 1, 2, 3), summary
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.seconds < case.bound + MARGIN_SECONDS, summary
    assert run.peak_rss_mb < MAX_RSS_MB, summary
    assert len(run.stdout) < MAX_JSON_BYTES, summary
    assert run.report["findings"], summary


@pytest.mark.parametrize("name,conversation", [
    ("relay-slow", "the relay test"), ("relay-trickle", "the relay test"),
    ("receive-slow", "the test delivery"), ("receive-trickle", "the test delivery"),
])
def test_a_slow_server_is_cut_off_and_the_finding_says_so(
    name: str, conversation: str, measured: dict[str, Measured]
) -> None:
    run = measured[name]
    bound = run.case.bound
    said = [f for f in run.findings() if TOO_SLOW in f["detail"]]
    assert said, [f["id"] for f in run.findings()]
    [finding] = said
    assert finding["id"] == ("relay.untested" if name.startswith("relay") else "smtp.untested")
    assert finding["status"] == "error" and run.status == 3
    assert f"{conversation} took longer than {bound:g} s and was cut off" in finding["detail"]
    # each reply came in time: the conversation was cut by its budget, not by a reply's timeout
    [transcript] = run.report["transcripts"]
    errors = [line["text"] for line in transcript["lines"] if line["dir"] == "error"]
    assert not any("no complete reply" in text for text in errors), errors
    assert any(TOO_SLOW in text for text in errors), errors


@pytest.mark.parametrize("name", ["relay-flood", "receive-flood"])
def test_a_flood_of_lines_is_capped_and_ends_as_a_protocol_error(
    name: str, measured: dict[str, Measured]
) -> None:
    run = measured[name]
    ids = [f["id"] for f in run.findings()]
    assert "smtp.protocol-error" in ids, ids
    cut = [f for f in run.findings() if "cut off" in f["detail"]]
    assert cut and f"more than {MAX_SESSION_LINES} lines" in cut[0]["detail"]
    [transcript] = run.report["transcripts"]
    server = [line for line in transcript["lines"] if line["dir"] == "S"]
    assert len(server) == MAX_SESSION_LINES
    markers = [line["text"] for line in transcript["lines"] if "were not recorded" in line["text"]]
    assert len(markers) == 1 and re.fullmatch(
        r"… \d+ more lines from the server were not recorded", markers[0]), markers


def _greeting_counts(run: Measured) -> list[int]:
    """How many sessions the ``many`` host had open as each of ours began, from its greetings."""
    found = [re.search(r"(\d+) sessions open at once", line["text"])
             for transcript in run.report["transcripts"] for line in transcript["lines"]
             if line["dir"] == "S"]
    return [int(match.group(1)) for match in found if match]


def test_many_mx_hosts_are_capped_and_visited_a_few_at_a_time(measured: dict[str, Measured]) -> None:
    run = measured["receive-many"]
    visited = sorted(t["host"] for t in run.report["transcripts"])
    assert visited == [f"mx{n:02}.hostile-many.test" for n in range(1, MAX_MX_HOSTS + 1)]
    counts = _greeting_counts(run)
    assert len(counts) == MAX_MX_HOSTS
    assert 2 <= max(counts) <= SMTP_SESSIONS, counts  # sessions overlap, but a few at a time
    [note] = run.findings("smtp.hosts-left-out")
    assert note["status"] == "info"
    assert note["title"] == f"Only the {MAX_MX_HOSTS} most preferred of {MANY_MX} MX hosts were tested"
    assert f"the other {MANY_MX - MAX_MX_HOSTS} " in note["detail"]


def test_the_rehearsal_gives_up_after_as_many_hosts_as_a_sender(measured: dict[str, Measured]) -> None:
    run = measured["send-many"]
    delivery = [t["host"] for t in run.report["transcripts"] if "hostile-many" in t["host"]]
    assert delivery == [f"mx{n:02}.hostile-many.test" for n in range(1, SENDER_MX_HOSTS + 1)]
    assert max(_greeting_counts(run)) == 1  # one after the other, as a sender goes
    [note] = run.findings("delivery.hosts-left-out")
    assert f"the other {MANY_MX - SENDER_MX_HOSTS} MX hosts were not tried" in note["detail"]


# -- the same, counted by the server -----------------------------------------------------------


async def test_the_server_sees_the_cap_and_the_pool(lab: World) -> None:
    ip = _ip("many")
    settings = lab.point(Settings(timeout=TIMEOUT))
    await diagnose(receive.plan(parse_domain("hostile-many.test")), settings)
    assert lab.hostile is not None
    assert len(lab.hostile.sessions(ip)) == MAX_MX_HOSTS
    assert 2 <= lab.hostile.peak_sessions[ip] <= SMTP_SESSIONS
    plan = send.plan(parse_address("alice@home.test"), parse_address("bob@hostile-many.test"),
                     "127.0.1.10", "mail.home.test")
    await diagnose(plan, lab.point(Settings(timeout=TIMEOUT, source_ip="127.0.1.10")))
    assert len(lab.hostile.sessions(ip)) == MAX_MX_HOSTS + SENDER_MX_HOSTS


async def test_a_pool_of_one_when_the_user_asks_for_one_operation_at_a_time(lab: World) -> None:
    ip = _ip("many")
    await diagnose(receive.plan(parse_domain("hostile-many.test")),
                   lab.point(Settings(timeout=TIMEOUT, concurrency=1)))
    assert lab.hostile is not None and lab.hostile.peak_sessions[ip] == 1


def test_the_index_of_bounds_names_each_constant_with_its_value() -> None:
    from mxwizard.diagnosis.plans import visits
    from mxwizard.probes.smtp import protocol as smtp_protocol
    from mxwizard.probes.smtp import session as smtp

    index = smtp.__doc__ or ""
    modules = (smtp, smtp_protocol, relay, visits)
    named = re.findall(r"([A-Z_]{6,})`\s+\((\d+)\)", index)
    assert len(named) == 8, named
    for name, value in named:
        assert {getattr(m, name) for m in modules if hasattr(m, name)} == {int(value)}, name


# -- what a cut-off relay test may still say -------------------------------------------------------


def _relay_test(answers: list[tuple[int, int | None]], ended: str) -> relay.RelayTest:
    """A relay test whose session ended so (``ended``), with (MAIL, RCPT) codes per trick."""
    session = SessionFacts("mx.cut.test", "127.0.0.9", 25, relay.RELAY_HELO, None,
                           outcome=ConnectOutcome.GREETED, ended=ended,
                           banner=Reply.parse(220, "mx.cut.test ESMTP", 0.0),
                           error="the server was cut off" if ended in CUT_OFF else None)
    texts = {250: "2.1.5 Ok", 554: "5.7.1 Relay access denied"}
    attempts = [relay.Attempt(variant, Reply.parse(mail, "2.1.0 Ok", 0.0),
                              None if rcpt is None else Reply.parse(rcpt, texts[rcpt], 0.0))
                for variant, (mail, rcpt) in zip(relay.variants("cut.test"), answers, strict=False)]
    return relay.RelayTest("mx.cut.test", "127.0.0.9", 25, session=session, attempts=attempts)


def test_a_relay_test_cut_off_halfway_gives_no_verdict_unless_the_server_said_yes() -> None:
    facts = Facts(Settings())
    refused = [(250, 554)] * 3 + [(250, None)]  # three tricks refused, the fourth cut off
    [untested] = relay.judge_relay(facts, _relay_test(refused, "too slow"))
    assert untested.id == "relay.untested"
    assert "the server was cut off, with 3 of the 8 relay attempts answered" in untested.detail
    [open_relay] = relay.judge_relay(facts, _relay_test([(250, 250), (250, None)], "too slow"))
    assert open_relay.id == "relay.open"  # a yes to a stranger is evidence, however it ended
    every = [(250, 554)] * 8  # every trick answered, then cut off at QUIT: a whole test
    assert relay.judge_relay(facts, _relay_test(every, "too slow"))[0].id == "relay.closed"
    flooded = relay.judge_relay(facts, _relay_test(refused, "too many lines"))
    assert [f.id for f in flooded][-1] == "relay.untested"
