"""The receive branch's DNS half against the lab: MX records, MX hosts, reverse DNS, and a
resolver that does not answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from mxwizard.core.findings import Status
from mxwizard.core.inputs import parse_domain
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.events import DnsAnswered, Event
from mxwizard.diagnosis.plans import receive
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.world import running_lab

CheckJson = Callable[[list[str]], tuple[int, Any]]


def ids(report: Any) -> list[str]:
    return [f["id"] for f in report["findings"]]


def test_healthy_domain_has_no_fail_and_shows_its_records(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "healthy.test", "--lab"])
    assert code == 0
    statuses = {f["id"]: f["status"] for f in report["findings"]}
    assert "fail" not in statuses.values(), report["findings"]
    assert statuses["mx.ok"] == "pass"
    mx_ok = next(f for f in report["findings"] if f["id"] == "mx.ok")
    assert "mx1.healthy.test (preference 10)" in mx_ok["detail"]
    hosts = [f["title"] for f in report["findings"] if f["id"] == "mx.host-ok"]
    assert hosts == ["mx1.healthy.test (preference 10) has address 127.0.2.1",
                     "mx2.healthy.test (preference 20) has address 127.0.2.2"]
    assert report["dns"] and all(q["server"].startswith("127.0.0.1:") for q in report["dns"])


def test_missing_mx_fix_gives_the_exact_records(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "nowhere.test", "--lab"])
    assert code == 1
    finding = next(f for f in report["findings"] if f["id"] == "mx.none-no-address")
    assert finding["side"] == "you"
    assert "nowhere.test. 3600 IN MX 10 mail.nowhere.test." in finding["fix"]
    assert "mail.nowhere.test. 3600 IN A 203.0.113.5" in finding["fix"]


def test_nxdomain_and_nodata_are_told_apart(check_json: CheckJson) -> None:
    _, missing = check_json(["check", "receive", "doesnotexist.test", "--lab"])
    _, nodata = check_json(["check", "receive", "nomx.test", "--lab"])
    assert ids(missing) == ["domain.nxdomain", "mx-hosts.not-checked", "smtp.not-checked",
                            "mta-sts.not-checked", "tls-rpt.not-checked", "dane.not-checked",
                            "transport.not-checked"]
    assert "mx.none" in ids(nodata) and "domain.nxdomain" not in ids(nodata)
    mx = next(q for q in nodata["dns"] if q["qname"] == "nomx.test" and q["qtype"] == "MX")
    assert mx["rcode"] == "NODATA"


def test_a_silent_resolver_is_an_error_naming_it_within_the_timeout(check_json: CheckJson) -> None:
    # A socket that is bound but never read: the questions arrive and nothing ever answers.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = int(silent.getsockname()[1])
        started = time.monotonic()
        code, report = check_json(["check", "receive", "example.test", "--resolver",
                                   f"127.0.0.1:{port}", "--timeout", "1"])
    elapsed = time.monotonic() - started
    assert code == 3
    assert ids(report) == ["dns.no-answer", "mx-hosts.not-checked", "smtp.not-checked",
                           "mta-sts.not-checked", "tls-rpt.not-checked", "dane.not-checked",
                           "transport.not-checked"]
    assert "could not be looked up" in report["findings"][1]["detail"]
    finding = report["findings"][0]
    assert finding["status"] == "error"
    assert f"127.0.0.1:{port}" in finding["title"]
    assert elapsed < 5  # one step of 1 s, not a hang


async def test_mx_host_lookups_overlap_in_time() -> None:
    """With 100 ms per answer, the A/AAAA/PTR lookups of both MX hosts run side by side."""
    events: list[Event] = []
    async with running_lab(latency_ms=100) as world:
        settings = world.point(Settings(timeout=5))
        diagnosis = await diagnose(receive.plan(parse_domain("healthy.test")), settings,
                                   events.append)
    assert diagnosis.count(Status.FAIL) == 0
    lookups = [e.lookup for e in events if isinstance(e, DnsAnswered)]
    host_lookups = [lk for lk in lookups if lk.qname.startswith(("mx1.", "mx2."))]
    assert len(host_lookups) >= 4
    first, second = (next(lk for lk in host_lookups if lk.qname.startswith(p)) for p in ("mx1.", "mx2."))
    # intervals [t, t+ms] of the two hosts' lookups intersect: they were in flight together
    assert first.t_ms < second.t_ms + second.ms and second.t_ms < first.t_ms + first.ms
    # the DNS part is a chain of round trips (MX, A, PTR, forward A), not a sum of all lookups
    span = max(lk.t_ms + lk.ms for lk in lookups) - min(lk.t_ms for lk in lookups)
    assert span < 0.8 * sum(lk.ms for lk in lookups)
