"""DNS that breaks, from the lab's own server: every fault is told apart from the others and shown safely.

"The server failed" (SERVFAIL), "nobody answered" (timeout), "the name does not exist" (NXDOMAIN)
and "the name has no such record" (NODATA) need different fixes, so the receive check must never
confuse them. Big answers must survive UDP truncation (the retry over TCP), a CNAME loop must end,
and a PTR name full of control characters must reach no screen raw.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import dns.asyncquery
import dns.flags
import dns.message
import pytest

from mxwizard.lab.dns_server import Fault
from mxwizard.lab.internet import DNS_FAULTS
from mxwizard.lab.world import World
from mxwizard.probes.dns import DnsClient, Outcome

TIMEOUT = 2.0
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

#: Domain -> (finding ids that must appear, ids that must NOT appear: the confusions to avoid).
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dns-servfail.test": (("dns.servfail",), ("domain.nxdomain", "mx.none", "dns.no-answer")),
    "dns-drop.test": (("dns.no-answer",), ("domain.nxdomain", "mx.none", "dns.servfail")),
    "dns-slow.test": (("mx.ok", "smtp.accepts"), ("dns.no-answer",)),
    "dns-servfail-host.test": (("mx.ok", "dns.servfail"), ("mx.dangling",)),
    "dns-truncated.test": (("mx.ok", "smtp.accepts"), ("dns.error", "dns.no-answer")),
    "doesnotexist.test": (("domain.nxdomain",), ("mx.none", "mx.none-no-address", "dns.servfail")),
    "dns-nodata.test": (("mx.none", "smtp.accepts"), ("domain.nxdomain",)),
    "nowhere.test": (("mx.none-no-address",), ("domain.nxdomain",)),
    "dns-cnameloop.test": (("mx.dangling",), ("mx.host-ok",)),
    "dns-evilptr.test": (("mx.rdns-mismatch", "smtp.accepts"), ("mx.rdns-ok",)),
}
#: Which status each classification must carry: a lookup that failed could not test anything.
STATUS = {"dns.servfail": "error", "dns.no-answer": "error", "domain.nxdomain": "fail",
          "mx.none": "warn", "mx.none-no-address": "fail", "mx.dangling": "fail"}


def test_the_lab_breaks_dns_in_every_documented_way() -> None:
    kinds = {fault for fault, _ in DNS_FAULTS.values()}
    assert kinds == {Fault.SERVFAIL, Fault.DROP, Fault.SLOW}


@pytest.mark.parametrize("domain", list(CASES))
def test_receive_check_classifies_each_dns_fault(
    domain: str, check_json: Callable[[list[str]], tuple[int, Any]]
) -> None:
    started = time.monotonic()
    code, report = check_json(["check", "receive", domain, "--lab", "--timeout", str(TIMEOUT)])
    assert time.monotonic() - started < 10 * TIMEOUT, "the check must end in bounded time"
    found = {f["id"]: f for f in report["findings"]}
    must, must_not = CASES[domain]
    assert [i for i in must if i not in found] == [], list(found)
    assert [i for i in must_not if i in found] == [], list(found)
    for finding_id, status in STATUS.items():
        if finding_id in found:
            assert found[finding_id]["status"] == status, found[finding_id]
    statuses = {f["status"] for f in report["findings"]}
    assert code == (1 if "fail" in statuses else 3 if "error" in statuses else 0)
    assert not UNSAFE.search(json.dumps(report, ensure_ascii=False).replace("\\n", " "))


def _client(lab: World) -> DnsClient:
    return DnsClient([(lab.dns_addr, lab.dns_port)], TIMEOUT)


async def test_outcomes_are_told_apart_at_the_probe(lab: World) -> None:
    client = _client(lab)
    assert (await client.query("dns-servfail.test", "MX")).outcome is Outcome.SERVFAIL
    assert (await client.query("doesnotexist.test", "MX")).outcome is Outcome.NXDOMAIN
    assert (await client.query("dns-nodata.test", "MX")).outcome is Outcome.NODATA
    started = time.monotonic()
    dropped = await client.query("dns-drop.test", "MX")
    assert dropped.outcome is Outcome.TIMEOUT
    assert time.monotonic() - started < TIMEOUT + 1.5
    slow = await client.query("dns-slow.test", "MX")
    assert slow.outcome is Outcome.ANSWER and slow.ms >= 900  # late, but an answer


async def test_txt_records_over_512_bytes_come_whole_over_tcp(lab: World) -> None:
    query = dns.message.make_query("big.dns-bigtxt.test", "TXT")
    over_udp = await dns.asyncquery.udp(query, lab.dns_addr, port=lab.dns_port, timeout=TIMEOUT)
    assert over_udp.flags & dns.flags.TC, "a 1,500-byte TXT record cannot fit in 512 bytes of UDP"
    lookup = await _client(lab).query("big.dns-bigtxt.test", "TXT")
    assert lookup.outcome is Outcome.ANSWER
    assert lookup.texts() == ["x" * 1500]
    spf = await _client(lab).query("dns-bigtxt.test", "TXT")
    [record] = spf.texts()
    assert len(record) > 512 and record.startswith("v=spf1 ") and record.endswith(" -all")


async def test_many_mx_records_survive_truncation(lab: World) -> None:
    query = dns.message.make_query("dns-truncated.test", "MX")
    over_udp = await dns.asyncquery.udp(query, lab.dns_addr, port=lab.dns_port, timeout=TIMEOUT)
    assert over_udp.flags & dns.flags.TC
    lookup = await _client(lab).query("dns-truncated.test", "MX")
    assert len(lookup.values("MX")) == 8


async def test_a_cname_loop_ends(lab: World) -> None:
    started = time.monotonic()
    lookup = await _client(lab).query("mail.dns-cnameloop.test", "A")
    assert time.monotonic() - started < TIMEOUT
    assert lookup.records("A") == []
    assert 1 <= len(lookup.cname_chain) <= 10


async def test_a_ptr_name_with_control_characters_is_kept_escaped(lab: World) -> None:
    lookup = await _client(lab).ptr("127.0.4.101")
    assert lookup.outcome is Outcome.ANSWER
    [name] = lookup.values()
    assert isinstance(name, str)
    assert "\x1b" not in name and "\x07" not in name
    assert name.startswith("\\027") and name.endswith(".dns-evilptr.test")


def test_the_evil_ptr_name_reaches_no_screen_raw(
    check_json: Callable[[list[str]], tuple[int, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from mxwizard.cli import main

    _, report = check_json(["check", "receive", "dns-evilptr.test", "--lab"])
    mismatch = next(f for f in report["findings"] if f["id"] == "mx.rdns-mismatch")
    assert "\\027" in mismatch["title"] and "\x1b" not in mismatch["title"]
    with pytest.raises(SystemExit):
        main(["check", "receive", "dns-evilptr.test", "--lab", "--format", "text"])
    text = capsys.readouterr().out
    assert "\\027" in text
    assert not UNSAFE.search(text.replace("\n", " "))
