"""The red team's input and bounds attacks, each run as the real command in a child process.

Every attack is built here or in the lab (lab/internet.py: the SPF include bombs, the absurd DKIM
keys, the slow SPF chain; tests/bounds_support.py: big messages, a backtracking signature, a DNS
server that floods answers, an SMTP server with a malformed certificate) and run as
``python -m mxwizard ... --timeout 2 --format json``. The child is measured from outside (wall
clock, peak RSS from wait4) against generous bounds: it must end well within its budget, stay
under 400 MB, never print a traceback, and exit 0-3 — or 2 with one line for bad input. Before
the fixes the same runs took minutes or gigabytes (the numbers are in the closing report).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bounds_support
from bounds_support import (
    FLOOD_RECORDS,
    Run,
    hostile_net,
    run_mxwizard,
    write_backtracking_message,
    write_signed_message,
)
from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.inputs import (
    MAX_MESSAGE_BYTES,
    InputError,
    parse_address,
    parse_helo,
    read_regular_file,
)
from mxwizard.core.transcript import Direction, Transcript, TranscriptLine
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.probes.dns import MAX_RECORDS, Lookup, Outcome, Record
from mxwizard.render.report import to_json

#: The --timeout of every run: step budgets are multiples of it (SPF 4.5, DKIM 3.5).
TIMEOUT = "2"
#: Generous bounds on a whole run (lab start, every step, the report) on a loaded shared machine.
#: Before the fixes: the SPF bombs never finished (killed at 120 s), four absurd DKIM keys took
#: 35 s, the backtracking signature 28 s.
SECONDS = 30.0
PEAK_MB = 400.0
SEND = ["check", "send", "--to", "bob@strict.test", "--ip", "127.0.1.10", "--helo", "mail.home.test",
        "--source-ip", "127.0.1.10", "--lab", "--timeout", TIMEOUT, "--format", "json"]


def _bounded(run: Run, seconds: float = SECONDS) -> dict[str, Any]:
    """The run ended in time and memory, without a traceback; its report, parsed."""
    assert not run.killed, "the run had to be killed"
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.seconds < seconds, f"took {run.seconds:.1f} s"
    assert run.peak_mb < PEAK_MB, f"peak RSS {run.peak_mb:.0f} MB"
    assert run.code in (0, 1, 3), (run.code, run.stderr[-500:])
    assert run.stderr == "", run.stderr[-500:]  # nothing but our one-line messages, and none here
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def _findings(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["id"], []).append(finding)
    return found


def _no_step_ran_out(report: dict[str, Any], *steps: str) -> None:
    """None of ``steps`` was cut off by its budget (a cut-off blames slow servers falsely)."""
    for finding in report["findings"]:
        if finding["step"] in steps:
            assert "did not finish within" not in finding["detail"], finding


# ------------------------------------------------------------------ 1. the SPF include walk

@pytest.mark.parametrize(("sender", "ip", "expected"), [
    ("alice@spfbomb.test", "127.0.1.10", "spf.lookup-risk"),  # 3 wide, 12 deep: 531,441 paths
    ("alice@spfbomb-wide.test", "127.0.1.11", "spf.permerror"),  # 10 wide: 10**12 paths
])
def test_an_spf_include_graph_is_walked_once_and_only_as_far_as_an_evaluator_goes(
        sender: str, ip: str, expected: str) -> None:
    args = [*SEND, "--from", sender]
    args[args.index("--ip") + 1] = ip
    report = _bounded(run_mxwizard(args))
    _no_step_ran_out(report, "spf")
    [finding] = _findings(report)[expected]
    tree = [line for line in finding["evidence"] if "spf1" in line]
    assert len(tree) <= 12, "the walk fetches at most the top record and ten more"
    assert any("the walk stopped here" in line for line in finding["evidence"])
    assert "more than 10" in finding["title"] + finding["detail"] + "\n".join(finding["evidence"])


SLOW_SPF = [*SEND, "--from", "alice@spfslow.test"]


def start_early() -> None:
    """The run that waits out its SPF budget by design starts when the session does."""
    bounds_support.start_early(SLOW_SPF)


def test_a_slow_spf_chain_ends_with_the_step_and_pyspf_stops_with_it() -> None:
    """Every answer of spfslow.test takes a second, and its record is a chain of ten includes:
    pyspf's time (3.5 timeouts) and the SPF step's budget (4.5) run out, and the run still ends
    right after (pyspf's thread is refused every lookup once the step is over; a thread that
    went on would keep the process alive)."""
    report = _bounded(run_mxwizard(SLOW_SPF), seconds=20)
    spf = [f for f in report["findings"] if f["step"] == "spf"]
    assert [f["status"] for f in spf] == ["error"], spf


# ------------------------------------------------------------------ 2. DKIM keys and messages

def test_absurd_dkim_keys_are_refused_before_any_arithmetic(tmp_path: Path) -> None:
    """Signatures by a key with a 16,384-bit modulus and an 18,000-bit exponent (9 s of pow()
    each before), by one with a 12,000-bit exponent and by one with a 12,288-bit modulus; one
    more than are checked; and the huge key again under --dkim-selector."""
    message = tmp_path / "bombs.eml"
    write_signed_message(message, body_mb=0.001, signatures=[
        *[("dkimbomb.test", "bomb")] * 3, ("dkimbomb.test", "bige"), ("dkimbomb.test", "bign"),
        ("dkimbomb.test", "bomb")])
    report = _bounded(run_mxwizard([*SEND, "--from", "alice@dkimbomb.test", "--message",
                                    str(message), "--dkim-selector", "bomb"]), seconds=20)
    _no_step_ran_out(report, "dkim", "delivery")
    titles = " ".join(f["title"] for f in _findings(report)["dkim.key-too-large"])
    for selector in ("bomb", "bige", "bign"):
        assert f"{selector}._domainkey.dkimbomb.test" in titles
    details = " ".join(f["detail"] for f in report["findings"] if f["id"] == "dkim.key-too-large")
    assert "refused unread" in details and "12,000 bits" in details and "12288-bit" in details
    assert "1 more DKIM signature " in _findings(report)["dkim.signatures-skipped"][0]["title"]


def test_a_big_message_with_eight_signatures_is_checked_in_bounded_memory(tmp_path: Path) -> None:
    """23 MB of short lines with eight valid signatures (dkimpy's own parser took 1.4 GB)."""
    message = tmp_path / "big.eml"
    write_signed_message(message, body_mb=23, signatures=[("home.test", "mail")] * 8)
    report = _bounded(run_mxwizard([*SEND, "--from", "alice@home.test", "--message",
                                    str(message)]))
    _no_step_ran_out(report, "dkim")
    found = _findings(report)
    assert "dkim.ok" in found and "dkim.fail" not in found
    assert "3 more DKIM signatures" in found["dkim.signatures-skipped"][0]["title"]


def test_a_backtracking_signature_header_is_refused_unparsed(tmp_path: Path) -> None:
    message = tmp_path / "backtrack.eml"
    write_backtracking_message(message)
    report = _bounded(run_mxwizard([*SEND, "--from", "alice@home.test", "--message",
                                    str(message)]), seconds=20)
    _no_step_ran_out(report, "dkim")
    [failed] = _findings(report)["dkim.fail"]
    assert "d=home.test s=mail" in failed["title"] and "bytes long" in failed["detail"]


# ------------------------------------------------------------------ 3. answers full of records

def test_address_records_of_other_names_are_not_the_hosts_and_answers_are_capped() -> None:
    # --timeout 5: reading an answer of 3,250 records takes mxwizard's client 0.3 s here and
    # several times that on a loaded machine, where 2 s ran out (this test is about what the
    # client keeps of such an answer, not about how fast it reads it)
    with hostile_net() as net:
        flood, same = (run_mxwizard(["check", "receive", domain, "--resolver",
                                     f"127.0.0.1:{net.dns_port}", "--private-network",
                                     "--smtp-port", "9", "--timeout", "5", "--format", "json"])
                       for domain in ("flood.test", "same.test"))
    report = _bounded(flood, seconds=20)
    [host] = _findings(report)["mx.host-ok"]
    assert host["title"].endswith("has address 127.0.0.1"), host["title"]
    [answer] = [d for d in report["dns"] if d["qname"] == "mx.flood.test" and d["qtype"] == "A"]
    assert answer["answers"] == ["mx.flood.test. 300 IN A 127.0.0.1"]
    assert f"{FLOOD_RECORDS} answer record(s) for names that were not asked" in answer["note"]
    report = _bounded(same, seconds=20)
    [answer] = [d for d in report["dns"] if d["qname"] == "mx.same.test" and d["qtype"] == "A"]
    assert len(answer["answers"]) == MAX_RECORDS and "not kept" in answer["note"]
    assert len(report["dns"]) < 2 * MAX_RECORDS, "one reverse lookup per kept address at most"


# ------------------------------------------------------------------ 4. hostile arguments

@pytest.fixture(scope="module")
def fifo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A named pipe nobody ever writes to (opening it for reading blocks forever)."""
    path = tmp_path_factory.mktemp("fifo") / "message.eml"
    os.mkfifo(path)
    yield str(path)


BAD_ARGUMENTS = [
    (["--helo", "[\r\nRSET]"], "--helo", "control characters"),
    (["--helo", "[\x1b]2;owned\x07]"], "--helo", "control characters"),
    (["--helo", "[" + "a" * 100_000 + "]"], "--helo", "100,002 characters long"),
    (["--helo", "[192.0.2.1"], "--helo", "closing ']'"),
    (["--helo", "[999.0.2.1]"], "--helo", "[IPv6:2001:db8::1]"),
    (["--helo", "[2001:db8::1]"], "--helo", "[IPv6:2001:db8::1]"),
    (["--helo", "192.0.2.1"], "--helo", "address literal [192.0.2.1]"),
    (["--helo", "mail.\u202eexample.com"], "--helo", "control characters"),
    (["--helo", "a" * 64 + ".example.com"], "--helo", "at most 63"),
    (["--from", "user@@example.com"], "--from", "special characters"),
    (["--from", "a" * 65 + "@example.com"], "--from", "longer than 64"),
    (["--from", "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"], "--from", "at most 254"),
    (["--from", "\udce0@example.com"], "--from", "control characters"),
    (["--to", "bob@exa\u202emple.com"], "--to", "control characters"),
    (["--dkim-selector", "s\x1b[2J"], "--dkim-selector", "control characters"),
    (["--timeout", "nan"], "--timeout", "between 0 and 600"),
    (["--timeout", "1e999"], "--timeout", "between 0 and 600"),
    (["--message", "/nonexistent/sent.eml"], "--message", "there is no message file"),
    (["--message", "/dev/zero"], "--message", "a character device, not a regular file"),
    (["--message", "/"], "--message", "a directory, not a regular file"),
]


@pytest.mark.parametrize(("extra", "option", "expected"), BAD_ARGUMENTS,
                         ids=lambda v: repr(v)[:30] if isinstance(v, list) else None)
def test_hostile_arguments_are_refused_with_one_line(extra: list[str], option: str,
                                                     expected: str) -> None:
    given = {"--from": "alice@home.test", "--to": "bob@strict.test", "--helo": "mail.home.test"}
    given.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    run = run_mxwizard(["check", "send", *[w for pair in given.items() for w in pair],
                        "--ip", "127.0.1.10", "--lab", "--format", "json"], hard_limit=30)
    _refused(run, option, expected)


def test_a_named_pipe_as_message_is_refused_not_waited_for(fifo: str) -> None:
    run = run_mxwizard([*SEND, "--from", "alice@home.test", "--message", fifo], hard_limit=30)
    _refused(run, "--message", "a named pipe (FIFO), not a regular file")


def test_a_message_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "huge.eml"
    with big.open("wb") as handle:  # sparse: no disk is used, and nothing may read it
        handle.truncate(MAX_MESSAGE_BYTES + 1)
    run = run_mxwizard([*SEND, "--from", "alice@home.test", "--message", str(big)], hard_limit=30)
    _refused(run, "--message", "larger than the 25 MB allowed")


def _refused(run: Run, option: str, expected: str) -> None:
    assert not run.killed and run.seconds < 15, f"took {run.seconds:.1f} s"
    assert run.code == 2, (run.code, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"mxwizard: error: Invalid value for '{option}'"), lines[0]
    assert expected in lines[0], lines[0]
    assert len(lines[0]) < 400 and all(ch.isprintable() for ch in lines[0]), lines[0]


def test_read_regular_file_never_blocks_on_a_pipe_put_there_later(fifo: str) -> None:
    """The file is opened without blocking and checked on the open descriptor: a pipe that
    replaced the validated file is refused at once (in a thread, so a regression fails the test
    instead of hanging it)."""
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(read_regular_file(fifo, 1024, "message file"))
        except InputError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert outcome and isinstance(outcome[0], InputError) and "named pipe" in str(outcome[0])


def test_helo_literals_and_names_are_parsed_in_one_place() -> None:
    from mxwizard.diagnosis.checks import SEND

    assert next(f for f in SEND.fields if f.name == "helo").parse is parse_helo
    assert parse_helo("[192.0.2.1]") == "[192.0.2.1]"
    assert parse_helo("[ipv6:2001:DB8:0::1]") == "[IPv6:2001:db8::1]"
    assert parse_helo("Mail.Example.COM.") == "mail.example.com"
    assert parse_helo("bücher.example") == "xn--bcher-kva.example"
    assert str(parse_address('"a@b"@example.com')) == '"a@b"@example.com'
    assert str(parse_address("first.last+tag@example.com")) == "first.last+tag@example.com"


@settings(max_examples=400, deadline=None)
@given(st.text() | st.builds(lambda a, b: f"[{a}{b}]", st.sampled_from(["", "IPv6:", "ipv6:"]),
                             st.text(alphabet="0123456789abcdef:.%[] \r\n\x1b", max_size=60)))
def test_whatever_is_typed_a_helo_name_is_safe_for_an_ehlo_line(value: str) -> None:
    try:
        helo = parse_helo(value)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert helo.isascii() and helo.isprintable() and " " not in helo
    assert len(f"EHLO {helo}\r\n") <= 512 and len(helo) <= 253


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='ab.@"\\+ \x00\u202e', max_size=80), st.integers(1, 300))
def test_an_accepted_address_fits_rfc_5321(local: str, size: int) -> None:
    try:
        address = parse_address(f"{local}@{'d' * (size % 60 + 1)}.example")
    except InputError:
        return
    assert len(str(address).encode()) <= 254 and len(address.local.encode()) <= 64
    assert address.local.count("@") == 0 or address.local.startswith('"')


def test_an_address_literal_helo_goes_on_the_wire_as_given() -> None:
    report = _bounded(run_mxwizard([*[w if w != "mail.home.test" else "[127.0.1.10]" for w in SEND],
                                    "--from", "alice@home.test"]))
    sent = [line["text"] for t in report["transcripts"] for line in t["lines"] if line["dir"] == "C"]
    assert "EHLO [127.0.1.10]" in sent


# ------------------------------------------------------------------ 5. JSON output

HOSTILE = "x\x1b]2;owned\x07 \x1b[2J \u202eevil \udce0\x00\x85\u2028 \u200b end"


def _unsafe(text: str) -> list[str]:
    """Characters that must never reach a JSON consumer raw (line breaks are layout)."""
    return [ch for ch in text if ch != "\n" and (
        unicodedata.category(ch) in {"Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"})]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _assert_json_safe(raw: str) -> None:
    assert raw.isascii()
    strings = list(_strings(json.loads(raw)))
    assert strings
    for text in strings:
        assert not _unsafe(text), (text[:200], _unsafe(text))
        text.encode("utf-8")  # strict: a lone surrogate would raise here


def test_every_string_of_a_hostile_report_is_escaped_in_json() -> None:
    transcript = Transcript(f"mx.{HOSTILE}", "127.0.2.1", 25)
    transcript.add(TranscriptLine(1.0, Direction.SERVER, f"220 {HOSTILE}", f"note {HOSTILE}"))
    record = Record(f"{HOSTILE}.", 300, "TXT", f'"{HOSTILE}"', HOSTILE)
    diagnosis = Diagnosis(
        kind="receive", target={"domain": HOSTILE, "shown": HOSTILE, HOSTILE: HOSTILE},
        findings=[Finding(f"smtp.{HOSTILE}", Status.FAIL, HOSTILE, detail=f"{HOSTILE}\n{HOSTILE}",
                          fix=HOSTILE, side=Side.THEM, evidence=(HOSTILE,), step=HOSTILE)],
        transcripts=[transcript],
        lookups=[Lookup(HOSTILE, "TXT", f"{HOSTILE}:53", Outcome.ANSWER, answer=(record,),
                        note=HOSTILE)])
    raw = to_json(diagnosis)
    _assert_json_safe(raw)
    data = json.loads(raw)
    assert "\\e]2;owned\\x07" in data["verdict"]["summary"] and "\\udce0" not in raw
    assert data["findings"][0]["detail"].count("\n") == 1, "line breaks of our own text stay"


@pytest.mark.parametrize("domain", ["hostile-escapes.test", "hostile-binary.test",
                                    "dns-evilptr.test"])
def test_hostile_lab_reports_are_safe_json_for_jq(domain: str) -> None:
    run = run_mxwizard(["check", "receive", domain, "--lab", "--timeout", TIMEOUT,
                        "--format", "json"])
    _bounded(run)
    _assert_json_safe(run.stdout)
    jq = shutil.which("jq")
    if jq:  # what a script would print: nothing raw may reach the terminal
        printed = subprocess.run([jq, "-r", ".. | strings"], input=run.stdout.encode(),
                                 capture_output=True, check=True, timeout=30).stdout
        assert not any(byte < 0x20 and byte not in b"\n" for byte in printed)
        assert b"\x7f" not in printed and "\u202e".encode() not in printed


# ------------------------------------------------------------------ 6. library warnings

def test_a_malformed_certificate_warns_nobody_on_stderr() -> None:
    """The server's certificate has a negative serial number: cryptography warns about it (with
    its install path); stderr must stay ours."""
    with hostile_net() as net:
        run = run_mxwizard(["check", "receive", "badcert.test", "--resolver",
                            f"127.0.0.1:{net.dns_port}", "--private-network", "--smtp-port",
                            str(net.smtp_port), "--timeout", TIMEOUT, "--format", "json"])
    report = _bounded(run, seconds=20)
    assert any(line["text"].startswith("STARTTLS") for t in report["transcripts"]
               for line in t["lines"]), "the certificate must have been read"


def test_developers_still_get_the_warnings_with_python_w() -> None:
    with hostile_net() as net:
        done = subprocess.run(
            [sys.executable, "-W", "default", "-m", "mxwizard", "check", "receive", "badcert.test",
             "--resolver", f"127.0.0.1:{net.dns_port}", "--private-network", "--smtp-port",
             str(net.smtp_port), "--timeout", TIMEOUT, "--format", "json"],
            capture_output=True, text=True, timeout=60, check=False)
    assert "CryptographyDeprecationWarning" in done.stderr
