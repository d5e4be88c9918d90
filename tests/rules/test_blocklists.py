"""The blocklist rules on the lab's blocklist: a listed sender, and a clean one."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.facts import BlocklistFacts
from mxwizard.diagnosis.rules.blocklists import judge_blocklists
from mxwizard.knowledge.blocklists import ListKind
from mxwizard.probes.blocklists import BlocklistSweep, ZoneAnswer
from rules.conftest import Recording, facts_with, recorded


def _sweep(rec: Recording, ip: str, listed: bool) -> BlocklistSweep:
    query = ".".join(reversed(ip.split("."))) + ".dnsbl.lab.test"
    zone = ZoneAnswer("dnsbl.lab.test", rec(query, "A"),
                      rec(query, "TXT") if listed else None,
                      rec("2.0.0.127.dnsbl.lab.test", "A"),
                      rec("1.0.0.127.dnsbl.lab.test", "A") if listed else None)
    return BlocklistSweep(ip, ListKind.IP, (zone,))


def test_a_listed_sender_fails_with_the_lists_reason_and_where_to_ask_for_removal() -> None:
    sweep = _sweep(recorded("sender-blocklisted"), "127.0.1.14", listed=True)
    [listed] = judge_blocklists(facts_with(), BlocklistFacts(sweep))
    assert (listed.id, listed.status, listed.side) == ("dnsbl.listed", Status.FAIL, Side.YOU)
    assert listed.title == "127.0.1.14 is listed on dnsbl.lab.test (listed)"
    assert 'The list says: "Listed for sending spam to lab traps' in listed.detail
    assert listed.fix.endswith("Removal (after the fix): the web site of dnsbl.lab.test")


def test_a_clean_sender_is_on_none_of_the_lists() -> None:
    sweep = _sweep(recorded("healthy-sender"), "127.0.1.10", listed=False)
    [clean] = judge_blocklists(facts_with(), BlocklistFacts(sweep))
    assert (clean.id, clean.status) == ("dnsbl.ok", Status.PASS)
    assert clean.title == "127.0.1.10 is on none of 1 blocklists"
    assert "the lists you gave" in clean.detail  # --lab names its own list, not the default set
