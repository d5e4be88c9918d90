"""Fixtures: one set of real peers per test session, and mxwizard pointed at them.

Set MXWIZARD_REALPEERS=require (CI does) to make a missing program or missing root an error
instead of a skip, and MXWIZARD_REALPEERS_KEEP=1 to keep the run's directory (configurations
and the daemons' logs, under /run/mxwizard-realpeers-*) for reading after the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from report_invariants import contradictions

from .observe import Report, swaks
from .peers import Check, Peers, cannot_run, running_peers
from .zones import OUTBOX, SENDER

#: Every mxwizard command gets this --timeout: the peers answer in milliseconds.
PROBE_TIMEOUT = "5"


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    """Every real peer, started once for the session and stopped at its end."""
    reason = cannot_run()
    if reason:
        if os.environ.get("MXWIZARD_REALPEERS") == "require":
            pytest.fail(f"real peers required but unavailable: {reason}")
        pytest.skip(reason)
    with running_peers(keep=bool(os.environ.get("MXWIZARD_REALPEERS_KEEP"))) as running:
        yield running


def _own_network() -> list[str]:
    """``--private-network`` where the CLI has it: the peers live on loopback, which mxwizard
    otherwise (rightly) treats as "not on the internet" and will not probe. Asked of the CLI
    itself, so the suite runs against the command line as it is, with or without the flag."""
    from mxwizard.cli import cli

    receive = cli.commands["check"].commands["receive"]  # type: ignore[attr-defined]
    known = {opt for param in receive.params for opt in param.opts}
    return ["--private-network"] if "--private-network" in known else []


@pytest.fixture
def mxwizard(peers: Peers, check_json: Callable[[list[str]], tuple[int, Any]]) -> Check:
    """Run ``mxwizard check ...`` in-process against the peers: the resolver, SMTP port and
    timeout are added (``resolver=`` picks another resolver, e.g. the lying one)."""

    def check(*args: str, resolver: str | None = None) -> Report:
        argv = ["check", *args, "--resolver", resolver or peers.resolver,
                "--smtp-port", str(peers.smtp_port), "--timeout", PROBE_TIMEOUT, *_own_network()]
        status, data = check_json(argv)
        assert not contradictions(data), contradictions(data)  # tests/report_invariants.py
        return Report(argv, status, data)

    return check


@pytest.fixture(scope="session")
def signed_message(peers: Peers) -> Path:
    """A message signed by the OpenDKIM milter on its way through Postfix, as delivered.

    swaks submits it to the signing service, which relays it to out.real.test: a pipe transport
    that writes it into a file. The file is what a receiver would get from this sender.
    """
    plan = peers.plan
    message = peers.directory / "unsigned.eml"
    message.write_text(
        f"From: Alice <alice@{SENDER}>\n"
        f"To: Bob <bob@{OUTBOX}>\n"
        "Subject: Signed by OpenDKIM on Postfix\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\n"
        f"Message-ID: <realpeers-signed@{SENDER}>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "Hello Bob,\n"
        "this message was signed by the OpenDKIM milter on Postfix.\n"
        "-- \n"
        "Alice\n")
    sent = swaks(plan.signer, peers.smtp_port, source=plan.clean, sender=f"alice@{SENDER}",
                 to=f"bob@{OUTBOX}", helo="mail.sender.real.test", quit_after="",
                 extra=["--data", str(message)])
    queued = [line for line in sent.server_lines() if "queued as" in line]
    assert sent.status == 0 and queued, f"the signing Postfix did not take the message:\n{sent.output}"
    queue_id = queued[-1].rsplit(" ", 1)[-1]
    delivered = peers.postfix.wait_for_delivery(queue_id)
    assert b"DKIM-Signature:" in delivered.read_bytes(), \
        f"OpenDKIM did not sign:\n{delivered.read_text(errors='replace')}"
    return delivered
