"""Bad input gets one clear line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mxwizard.cli import main

BAD_ARGS = [
    (["check", "receive", "bad domain"], "contains a space"),
    (["check", "receive", ""], "is empty"),
    (["check", "receive", "exa\x1bmple.com"], "control characters"),
    (["check", "receive", "a" * 64 + ".com"], "at most 63"),
    (["check", "receive", ".".join(["abcdefghi"] * 26)], "at most 253"),
    (["check", "receive", "user@example.com"], "is a mail address"),
    (["check", "receive", "192.0.2.1"], "is an IP address"),
    (["check", "receive", "bad-.example"], "hyphen"),
    (["check", "receive", "example.com", "--mailbox", "nobody"], "has no '@'"),
    (["check", "relay", "mail.example.com:0"], "out of range"),
    (["check", "relay", "mail.example.com:70000"], "out of range"),
    (["check", "relay", "mail.example.com:smtp"], "not a number"),
    (["check", "relay", "[2001:db8::1"], "closing ']'"),
    (["check", "receive", "example.com", "--resolver", "dns.example"], "must be an IP address"),
    (["check", "receive", "example.com", "--resolver", "192.0.2.1:99999"], "out of range"),
    (["check", "receive", "example.com", "--smtp-port", "-1"], "out of range"),
    (["check", "receive", "example.com", "--timeout", "0"], "between 0 and 600"),
    (["check", "receive", "example.com", "--source-ip", "999.1.1.1"], "not a valid IP"),
    (["check", "receive", "example.com", "--dnsbl", "zen spamhaus.org"], "contains a space"),
    (["check", "send", "--from", "me@example.com", "--to", "you@example.com", "--ip", "x"],
     "not a valid IP"),
    (["check", "send", "--from", "me@example.com"], "Missing option '--to'"),
    (["check", "send", "--from", "me", "--to", "you@example.com"], "has no '@'"),
    (["check", "receive", "xn--a.com"], "internationalised"),
    (["--no-such-option"], "No such option"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_ARGS)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1, captured.err
    assert err_lines[0].startswith("mxwizard: error: ")
    assert expected in err_lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert "\x1b" not in captured.err  # the escape we typed is not echoed raw


def test_bad_domain_in_a_real_process() -> None:
    """The issue's own example, run the way a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "mxwizard", "check", "receive", "bad domain"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "contains a space" in done.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert "0." in capsys.readouterr().out
