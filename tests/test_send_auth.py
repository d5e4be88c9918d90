"""SPF, DKIM and DMARC in the send check: verdicts, the reasons behind them, and the fixes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim
import dns.zone
import pytest

from mxwizard.lab.dns_server import Fault, LabDnsServer
from mxwizard.lab.keys import LAB_DKIM_PRIVATE_KEY
from mxwizard.lab.world import World
from mxwizard.probes.dkim import KeyState, judge_key_record
from mxwizard.probes.dmarc import aligned, dmarc_record, organisational_domain
from mxwizard.probes.dns import DnsClient
from mxwizard.probes.spf import check_spf, include_tree, proposed_record
from mxwizard.probes.spf_record import parse_spf

CheckJson = Callable[[list[str]], tuple[int, Any]]
MESSAGE = (b"From: Alice <alice@home.test>\r\nTo: Bob <bob@strict.test>\r\nSubject: Lunch\r\n"
           b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@home.test>\r\n\r\n"
           b"See you at noon.\r\n")


def _send(check_json: CheckJson, sender: str, *extra: str) -> dict[str, dict[str, Any]]:
    _code, report = check_json(["check", "send", "--from", sender, "--to", "bob@strict.test",
                                "--ip", "127.0.1.10", "--helo", "mail.home.test", *extra, "--lab"])
    return {f["id"]: f for f in report["findings"]}


def _signed(selector: bytes = b"mail", message: bytes = MESSAGE) -> bytes:
    signature = dkim.sign(message, selector, b"home.test", LAB_DKIM_PRIVATE_KEY.encode(),
                          include_headers=[b"from", b"to", b"subject", b"date"])
    return signature + message


# ------------------------------------------------------------------ SPF

def test_spf_fail_proposes_the_record_with_the_address(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@spffail.test")
    fix = found["spf.fail"]["fix"]
    assert 'spffail.test. 3600 IN TXT "v=spf1 ip4:127.0.1.10 ip4:127.0.1.200 -all"' in fix


def test_spf_permerror_shows_the_count_and_the_tree(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@spflimit.test")
    permerror = found["spf.permerror"]
    assert "more than 10 DNS lookups" in permerror["detail"]
    evidence = "\n".join(permerror["evidence"])
    assert "include:spf11.spflimit.test" in evidence and "of 10 allowed" in evidence


def test_spf_none_proposes_a_minimal_record(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@nowhere.test")
    assert '"v=spf1 ip4:127.0.1.10 -all"' in found["spf.none"]["fix"]


def test_spf_for_the_helo_name(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@home.test")
    assert found["spf.helo-none"]["status"] == "info"


def test_proposed_record_keeps_the_existing_terms() -> None:
    current = parse_spf("v=spf1 mx include:_spf.example.net ~all")
    assert proposed_record(current, "2001:db8::25") == \
        "v=spf1 ip6:2001:db8::25 mx include:_spf.example.net ~all"
    assert proposed_record(None, "192.0.2.1") == "v=spf1 ip4:192.0.2.1 -all"


async def test_include_tree_stops_at_a_loop() -> None:
    text = "\n".join([
        "$ORIGIN loop.test.", "$TTL 60", "@ SOA ns.lab.test. h.lab.test. 1 60 60 60 60",
        "@ NS ns.lab.test.", '@ TXT "v=spf1 include:a.loop.test -all"',
        'a TXT "v=spf1 include:b.loop.test ~all"', 'b TXT "v=spf1 include:loop.test ~all"'])
    server = LabDnsServer([dns.zone.from_text(text, origin="loop.test.", relativize=False)])
    port = await server.start("127.0.0.1", 0)
    try:
        tree = await include_tree(DnsClient([("127.0.0.1", port)], 3), "loop.test")
    finally:
        await server.close()
    lines = tree.lines()
    assert len(lines) == 3 and "include loop back to loop.test" in lines[-1]
    assert tree.lookup_terms() == 3


# ------------------------------------------------------------------ DKIM

def test_key_record_states() -> None:
    assert judge_key_record([])[0] is KeyState.MISSING
    assert judge_key_record(["v=DKIM1; k=rsa; p="])[0] is KeyState.REVOKED
    assert judge_key_record(["v=DKIM1; p=not*base64"])[0] is KeyState.MALFORMED
    assert judge_key_record(["v=DKIM2; p=AAAA"])[0] is KeyState.MALFORMED
    assert judge_key_record(["hello"])[0] is KeyState.MALFORMED
    small = ("MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALPpImQJrw9KK1c/S5EMzIjcVvGjDfxs49eDAfoHSsnemT74pB5R"
             "5w3d7BLNgdX2HDGkVOSjLiPS9XBp+rijKM8CAwEAAQ==")  # a 512-bit RSA public key
    state, _record, _type, bits, problem, _tags = judge_key_record([f"v=DKIM1; p={small}"])
    assert state is KeyState.TOO_SMALL and bits == 512 and "512" in problem


@pytest.mark.parametrize(("selector", "expected"), [
    ("mail", "dkim.ok"), ("missing", "dkim.no-key"), ("revoked", "dkim.key-revoked")])
def test_dkim_selectors(check_json: CheckJson, selector: str, expected: str) -> None:
    found = _send(check_json, "alice@home.test", "--dkim-selector", selector)
    assert [i for i in found if i.startswith("dkim.")] == [expected]
    if expected == "dkim.no-key":
        assert "opendkim-genkey -b 2048 -d home.test -s missing" in found[expected]["fix"]


def test_without_selector_or_message_dkim_is_not_checked(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@home.test")
    assert found["dkim.not-checked"]["status"] == "info"


@pytest.mark.parametrize(("change", "expected", "words"), [
    (lambda m: m, "dkim.ok", "verifies"),
    (lambda m: m.replace(b"See you at noon.", b"See you at one."), "dkim.fail", "body"),
    (lambda m: m.replace(b"Subject: Lunch", b"Subject: [EXT] Lunch"), "dkim.fail", "header"),
])
def test_message_signatures(check_json: CheckJson, tmp_path: Path,
                            change: Callable[[bytes], bytes], expected: str, words: str) -> None:
    path = tmp_path / "sent.eml"
    path.write_bytes(change(_signed()))
    found = _send(check_json, "alice@home.test", "--message", str(path))
    assert [i for i in found if i.startswith("dkim.")] == [expected]
    assert words in (found[expected]["title"] + found[expected]["detail"])


def test_a_malformed_signature_still_says_whose_it_is(check_json: CheckJson, tmp_path: Path) -> None:
    """A signer that writes a broken b= (seen from a real signing tool): the finding names the
    d= and s= the header carries, not empty tags."""
    path = tmp_path / "sent.eml"
    path.write_bytes(re.sub(rb"\bb=[A-Za-z0-9+/=\s]+", b"b=@@@@", _signed(), count=1))
    found = _send(check_json, "alice@home.test", "--message", str(path))
    assert "d=home.test s=mail" in found["dkim.fail"]["title"]


def test_message_signed_with_a_revoked_key(check_json: CheckJson, tmp_path: Path) -> None:
    path = tmp_path / "sent.eml"
    path.write_bytes(_signed(b"revoked"))
    found = _send(check_json, "alice@home.test", "--message", str(path))
    assert "dkim.key-revoked" in found


def test_unsigned_message(check_json: CheckJson, tmp_path: Path) -> None:
    path = tmp_path / "sent.eml"
    path.write_bytes(MESSAGE)
    found = _send(check_json, "alice@home.test", "--message", str(path))
    assert found["dkim.unsigned"]["status"] == "warn"


def test_dkim_rescues_dmarc_when_spf_fails(check_json: CheckJson, tmp_path: Path) -> None:
    """home.test mail from an address SPF does not list, but with a valid aligned signature."""
    path = tmp_path / "sent.eml"
    path.write_bytes(_signed())
    _code, report = check_json(["check", "send", "--from", "alice@home.test", "--to",
                                "bob@strict.test", "--ip", "127.0.1.13", "--helo",
                                "127-0-1-13.dyn.isp.test", "--message", str(path), "--lab"])
    found = {f["id"]: f for f in report["findings"]}
    assert "spf.fail" in found and "dkim.ok" in found
    assert "DKIM" in found["dmarc.ok"]["title"]


# ------------------------------------------------------------------ DMARC

def test_dmarc_unaligned_names_the_receivers_reply(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@dmarcfail.test")
    unaligned = found["dmarc.unaligned"]
    assert unaligned["status"] == "fail" and "p=reject" in unaligned["detail"]
    assert "5.7.26" in unaligned["detail"]


def test_dmarc_missing(check_json: CheckJson) -> None:
    found = _send(check_json, "alice@spffail.test")
    assert "_dmarc.spffail.test" in found["dmarc.none"]["fix"]
    assert "dmarc.unaligned" not in found


async def test_dmarc_falls_back_to_the_organisational_domain(lab: World) -> None:
    client = DnsClient([(lab.dns_addr, lab.dns_port)], 3)
    found = await dmarc_record(client, "shop.home.test")
    assert found.found_at == "home.test" and found.record is not None
    assert found.record.policy == "quarantine"
    assert [lk.qname for lk in found.lookups] == ["_dmarc.shop.home.test", "_dmarc.home.test"]


def test_organisational_domains_and_alignment() -> None:
    assert organisational_domain("mail.home.test") == "home.test"
    assert organisational_domain("a.b.example.co.uk") == "example.co.uk"
    assert aligned("bounce.home.test", "home.test", strict=False)
    assert not aligned("bounce.home.test", "home.test", strict=True)
    assert not aligned("home.test", "other.test", strict=False)


async def test_spf_check_ends_in_time_when_dns_never_answers() -> None:
    """pyspf's thread gives up at the time limit (temperror) instead of hanging the diagnosis."""
    text = "\n".join(["$ORIGIN slow.test.", "$TTL 60", "@ SOA ns.lab.test. h.lab.test. 1 60 60 60 60",
                      "@ NS ns.lab.test.", '@ TXT "v=spf1 include:never.slow.test -all"'])
    server = LabDnsServer([dns.zone.from_text(text, origin="slow.test.", relativize=False)],
                          faults={"never.slow.test": (Fault.DROP, 0)})
    port = await server.start("127.0.0.1", 0)
    try:
        client = DnsClient([("127.0.0.1", port)], timeout=30)
        verdict = await asyncio.wait_for(
            check_spf(client, "192.0.2.1", "a@slow.test", "mail.slow.test", time_limit=1), 20)
    finally:
        await server.close()
    assert verdict.result == "temperror"
