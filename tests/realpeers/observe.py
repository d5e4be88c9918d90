"""Reading what both sides said: mxwizard's JSON report, and swaks as the independent witness.

swaks is what postmasters use to ask a server by hand; when mxwizard and swaks disagree about
what a server answered, mxwizard is wrong. Assertion messages carry a one-line summary of the
report, so a failing test says what was found instead of what was not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .processes import run

#: swaks marks each output line: what it sent, what the server said (with TLS variants).
_SWAKS_MARKS = {" -> ": "C", " ~> ": "C", "<-  ": "S", "<** ": "S", "<~  ": "S", "<~* ": "S"}


@dataclass(frozen=True)
class SwaksRun:
    """One swaks session: its exit status and the conversation as (direction, text) lines."""

    argv: list[str]
    status: int
    lines: list[tuple[str, str]]
    output: str

    def server_lines(self) -> list[str]:
        """Every line the server sent, in order."""
        return [text for side, text in self.lines if side == "S"]

    def reply_after(self, command: str) -> list[str]:
        """The server's reply lines to the first client line starting with ``command``."""
        out: list[str] = []
        found = False
        for side, text in self.lines:
            if side == "C":
                if found:
                    break
                found = text.upper().startswith(command.upper())
            elif found:
                out.append(text)
        return out


def swaks(server: str, port: int, *, source: str, to: str, sender: str = "<>",
          helo: str = "probe.mxwizard.invalid", quit_after: str = "RCPT",
          extra: list[str] | None = None, timeout: float = 20.0) -> SwaksRun:
    """Run swaks against ``server``:``port`` from ``source`` (its own timeouts, and ours)."""
    argv = ["swaks", "--server", f"{server}:{port}", "--local-interface", source,
            "--helo", helo, "--from", sender, "--to", to, "--timeout", "5",
            *(["--quit-after", quit_after] if quit_after else []), *(extra or [])]
    done = run(argv, timeout=timeout, check=False)
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    lines: list[tuple[str, str]] = []
    for raw in output.splitlines():
        side = _SWAKS_MARKS.get(raw[:4])
        if side is not None:
            lines.append((side, raw[4:]))
    return SwaksRun(argv, done.returncode, lines, output)


@dataclass(frozen=True)
class Report:
    """mxwizard's exit status and JSON report, with the lookups the tests need."""

    argv: list[str]
    status: int
    data: dict[str, Any]

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.data.get("findings", []))

    def with_id(self, finding_id: str) -> list[dict[str, Any]]:
        """Every finding with exactly this id."""
        return [f for f in self.findings if f["id"] == finding_id]

    def one(self, finding_id: str) -> dict[str, Any]:
        """The first finding with this id; fails with the report's summary if there is none."""
        found = self.with_id(finding_id)
        assert found, f"no finding {finding_id}; {self.summary()}"
        return found[0]

    def failing(self, prefix: str = "") -> list[dict[str, Any]]:
        """The ``fail`` findings; with ``prefix``, only those whose step or id starts with it."""
        return [f for f in self.findings if f["status"] == "fail" and
                (f.get("step", "").startswith(prefix) or f["id"].startswith(prefix))]

    def summary(self) -> str:
        """One line: exit status, verdict and every finding as id(status,side)."""
        verdict = self.data.get("verdict", {})
        found = ", ".join(f"{f['id']}({f['status']},{f['side']})" for f in self.findings)
        return (f"exit {self.status}; verdict {verdict.get('status')}/{verdict.get('side')} "
                f"{verdict.get('summary', '')!r}; findings: {found}")

    def transcripts(self, ip: str | None = None) -> list[dict[str, Any]]:
        """The SMTP sessions (with the server at ``ip`` only, when given)."""
        return [t for t in self.data.get("transcripts", []) if ip is None or t["ip"] == ip]

    def server_lines(self, ip: str, session: int = 0) -> list[str]:
        """What the server at ``ip`` sent in its ``session``-th session, line by line."""
        sessions = self.transcripts(ip)
        assert len(sessions) > session, f"no session {session} with {ip}; {self.summary()}"
        return [line["text"] for line in sessions[session]["lines"] if line["dir"] == "S"]

    def client_lines(self, ip: str, session: int = 0) -> list[str]:
        """What mxwizard sent to the server at ``ip`` in its ``session``-th session."""
        sessions = self.transcripts(ip)
        assert len(sessions) > session, f"no session {session} with {ip}; {self.summary()}"
        return [line["text"] for line in sessions[session]["lines"] if line["dir"] == "C"]


def ehlo_block(server_lines: list[str]) -> list[str]:
    """The first multi-line 250 reply (the EHLO capabilities) among a session's server lines."""
    out: list[str] = []
    for line in server_lines:
        if re.match(r"250[- ]", line):
            out.append(line)
            if line.startswith("250 "):
                break
        elif out:
            break
    return out


@dataclass(frozen=True)
class DigAnswer:
    """What dig reported: the response status (NOERROR, NXDOMAIN...) and the answer records."""

    status: str
    answers: list[str]
    output: str


def dig(server: str, name: str, rdtype: str = "A") -> DigAnswer:
    """Ask ``server`` with dig, the way a postmaster double-checks a resolver by hand."""
    done = run(["dig", f"@{server}", name, rdtype, "+time=2", "+tries=1", "+nocookie"],
               timeout=15, check=False)
    output = done.stdout.decode(errors="replace")
    status = re.search(r"status: ([A-Z]+)", output)
    answers: list[str] = []
    section = False
    for line in output.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = True
        elif section and (not line.strip() or line.startswith(";;")):
            section = False
        elif section:
            answers.append(" ".join(line.split()))
    return DigAnswer(status.group(1) if status else "NO-ANSWER", answers, output)
