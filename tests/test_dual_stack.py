"""Dual-stack MX hosts: IPv6 tried first, as senders do, and each address family reported.

The lab stays inside 127.0.0.0/8: its AAAA records hold IPv4-mapped addresses (::ffff:127.0.2.x),
which a Linux dual-stack socket reaches over IPv4 loopback. dualstack.test works on both
families; v6broken.test's AAAA is the refusing machine's address (127.0.2.4) while its A works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from mxwizard.cli import main
from mxwizard.core.transcript import Transcript, endpoint
from mxwizard.diagnosis.plans.visits import Visit, addresses_to_try, source_for
from mxwizard.diagnosis.rules.smtp import _address_families
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.probes.mx import MxHost
from mxwizard.probes.smtp.session import ConnectOutcome, SessionFacts

CheckJson = Callable[[list[str]], tuple[int, Any]]


def ids(report: Any) -> list[str]:
    return [f["id"] for f in report["findings"]]


def sessions(report: Any, host: str) -> dict[str, Any]:
    return {t["ip"]: t for t in report["transcripts"] if t["host"] == host}


def test_a_working_dual_stack_host_is_visited_on_both_families(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "dualstack.test", "--lab"])
    assert code == 0
    assert "smtp.accepts" in ids(report)
    assert not [i for i in ids(report) if i.startswith("smtp.ipv")]
    both = sessions(report, "mx.dualstack.test")
    assert list(both) == ["::ffff:127.0.2.30", "127.0.2.30"]  # IPv6 first, as senders try
    for transcript in both.values():
        texts = [line["text"] for line in transcript["lines"]]
        assert any(text.startswith("250") and "Ok" in text for text in texts)
    port = both["127.0.2.30"]["port"]
    assert both["::ffff:127.0.2.30"]["lines"][0]["text"] == f"connecting to [::ffff:127.0.2.30]:{port}"


def test_an_ipv6_address_that_refuses_is_a_finding_while_ipv4_works(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "v6broken.test", "--lab"])
    assert code == 0  # a warning: mail arrives over IPv4
    assert "smtp.accepts" in ids(report) and "smtp.connect-refused" not in ids(report)
    [finding] = [f for f in report["findings"] if f["id"] == "smtp.ipv6-unreachable"]
    port = sessions(report, "mx.v6broken.test")["127.0.2.31"]["port"]
    assert finding["status"] == "warn" and finding["side"] == "you"
    assert f"mx.v6broken.test [::ffff:127.0.2.4]:{port}" in finding["detail"]
    assert finding["evidence"] == [f"connect mx.v6broken.test [::ffff:127.0.2.4]:{port}: refused",
                                   f"connect mx.v6broken.test [127.0.2.31]:{port}: greeted"]
    assert "inet_protocols = all" in finding["fix"] and "remove the AAAA record" in finding["fix"]
    refused = sessions(report, "mx.v6broken.test")["::ffff:127.0.2.4"]
    assert refused["lines"][0]["text"] == f"connecting to [::ffff:127.0.2.4]:{port}"
    assert refused["lines"][-1]["text"] == f"connection to [::ffff:127.0.2.4]:{port} refused"


def test_ipv6_endpoints_print_in_brackets_in_the_text_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "receive", "v6broken.test", "--lab"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "SMTP session with mx.v6broken.test [::ffff:127.0.2.4]:" in out
    assert "::ffff:127.0.2.4:" not in out.replace("[::ffff:127.0.2.4]:", "")


def test_an_ipv4_source_reaches_a_mapped_ipv6_destination(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "dualstack.test", "--source-ip", "127.0.1.10",
                               "--lab"])
    assert code == 0
    both = sessions(report, "mx.dualstack.test")
    v6 = [line["text"] for line in both["::ffff:127.0.2.30"]["lines"]]
    v4 = [line["text"] for line in both["127.0.2.30"]["lines"]]
    assert v6[0].endswith(" from ::ffff:127.0.1.10") and v6[1].startswith("connected from ::ffff:127.0.1.10:")
    assert v4[0].endswith(" from 127.0.1.10") and v4[1].startswith("connected from 127.0.1.10:")


def test_a_sender_falls_back_to_ipv4_and_stops_there(check_json: CheckJson) -> None:
    """The delivery rehearsal tries IPv6, then IPv4 only because IPv6 failed — and no more."""
    _, report = check_json(["check", "send", "--from", "alice@home.test", "--to",
                            "postmaster@v6broken.test", "--ip", "127.0.1.10", "--helo",
                            "mail.home.test", "--source-ip", "127.0.1.10", "--lab"])
    assert "delivery.accepted" in ids(report)
    tried = [t["ip"] for t in report["transcripts"] if t["host"] == "mx.v6broken.test"]
    assert tried == ["::ffff:127.0.2.4", "127.0.2.31"]
    _, report = check_json(["check", "send", "--from", "alice@home.test", "--to",
                            "postmaster@dualstack.test", "--ip", "127.0.1.10", "--helo",
                            "mail.home.test", "--source-ip", "127.0.1.10", "--lab"])
    assert "delivery.accepted" in ids(report)
    assert [t["ip"] for t in report["transcripts"] if t["host"] == "mx.dualstack.test"] == [
        "::ffff:127.0.2.30"]


# ---------------------------------------------------------------- pure pieces


def _host(*addresses: str) -> MxHost:
    a = Lookup("mx.example.test", "A", "127.0.0.1:53", Outcome.ANSWER, tuple(
        Record("mx.example.test.", 300, "A", ip, ip) for ip in addresses if ":" not in ip))
    aaaa = Lookup("mx.example.test", "AAAA", "127.0.0.1:53", Outcome.ANSWER, tuple(
        Record("mx.example.test.", 300, "AAAA", ip, ip) for ip in addresses if ":" in ip))
    return MxHost(10, "mx.example.test", (a, aaaa))


def test_one_address_per_family_ipv6_first() -> None:
    own = ("127.0.0.0/8",)  # the lab's policy: its loopback addresses stand for public ones
    assert addresses_to_try(_host("127.0.2.1", "127.0.2.2", "::ffff:127.0.2.1", "2001:db8::25"),
                            own) == ["::ffff:127.0.2.1", "127.0.2.1"]
    assert addresses_to_try(_host("127.0.2.1"), own) == ["127.0.2.1"]
    assert addresses_to_try(_host(), own) == []


def test_private_addresses_that_are_not_ours_are_never_tried() -> None:
    """A sender on the internet cannot reach 10.x or fd00::/8; the probe does not dial them."""
    host = _host("10.20.30.40", "198.51.100.25", "fd00::25")
    assert addresses_to_try(host) == []  # documentation and private: nothing a sender reaches
    assert addresses_to_try(host, ("10.0.0.0/8",)) == ["10.20.30.40"]


@pytest.mark.parametrize(("destination", "source", "bound"), [
    ("127.0.2.1", None, None),
    ("127.0.2.1", "127.0.1.10", "127.0.1.10"),
    ("::ffff:127.0.2.1", "127.0.1.10", "::ffff:127.0.1.10"),  # an IPv4 source, mapped
    ("2001:db8::25", "127.0.1.10", None),  # impossible: the system picks an IPv6 source
    ("2001:db8::25", "2001:db8::10", "2001:db8::10"),
    ("127.0.2.1", "::ffff:127.0.1.10", "127.0.1.10"),
    ("127.0.2.1", "2001:db8::10", None),
])
def test_the_source_address_follows_the_destination_family(
    destination: str, source: str | None, bound: str | None
) -> None:
    assert source_for(destination, source) == bound


def test_endpoints_bracket_ipv6_only() -> None:
    assert endpoint("127.0.2.1", 25) == "127.0.2.1:25"
    assert endpoint("::ffff:127.0.2.4", 25) == "[::ffff:127.0.2.4]:25"
    assert Transcript("mx", "2001:db8::25", 25).heading().startswith("SMTP session with mx [2001:db8::25]:25")


def _visit(ip: str, outcome: ConnectOutcome, error: str | None = None) -> Visit:
    session = SessionFacts("mx.example.test", ip, 25, "probe.invalid", None, outcome, error)
    return Visit(10, "mx.example.test", ip, session)


def test_ipv6_that_this_machine_cannot_reach_is_untested_not_broken() -> None:
    """No IPv6 route here says nothing about the server: an info on the network's side."""
    works = _visit("192.0.2.25", ConnectOutcome.GREETED)
    visit = replace(works, alternates=(
        _visit("2001:db8::25", ConnectOutcome.UNREACHABLE, "network unreachable"),))
    [finding] = _address_families([visit])
    assert finding.id == "smtp.ipv6-untested" and finding.status.value == "info"
    assert finding.side.value == "network"
    assert finding.evidence == ("connect mx.example.test [2001:db8::25]:25: unreachable "
                                "(network unreachable)",)


def test_ipv4_that_times_out_while_ipv6_works_is_reported_too() -> None:
    works = _visit("2001:db8::25", ConnectOutcome.GREETED)
    visit = replace(works, alternates=(_visit("192.0.2.25", ConnectOutcome.TIMEOUT),))
    [finding] = _address_families([visit])
    assert finding.id == "smtp.ipv4-unreachable" and finding.status.value == "warn"
    assert "IPv4 only" in finding.detail


def test_a_host_down_on_both_families_is_left_to_the_connection_findings() -> None:
    down = _visit("2001:db8::25", ConnectOutcome.REFUSED)
    visit = replace(down, alternates=(_visit("192.0.2.25", ConnectOutcome.TIMEOUT),))
    assert _address_families([visit]) == []
