"""Transcript truth: mxwizard's record of what a server said must be what the server said."""

from __future__ import annotations

from .observe import ehlo_block, swaks
from .peers import Check, Peers
from .zones import STRICT


def test_banner_and_ehlo_lines_match_swaks(peers: Peers, mxwizard: Check) -> None:
    """(i) The same server, the same source address and EHLO name: the 220 banner and every
    EHLO capability line in mxwizard's transcript equal what swaks printed."""
    plan = peers.plan
    report = mxwizard("receive", STRICT, "--source-ip", plan.clean)
    witness = swaks(plan.strict_mx, peers.smtp_port, source=plan.clean, to=f"postmaster@{STRICT}",
                    helo="probe.mxwizard.invalid")
    theirs = witness.server_lines()
    ours = report.server_lines(plan.strict_mx)
    assert ours[0] == theirs[0]
    assert ehlo_block(ours) == ehlo_block(theirs)
    assert len(ehlo_block(ours)) > 5, ours  # Postfix lists its extensions, one per line
    assert report.client_lines(plan.strict_mx)[0] == "EHLO probe.mxwizard.invalid"
