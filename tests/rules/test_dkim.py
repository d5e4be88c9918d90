"""The DKIM key rules on the keys the lab publishes under its selectors."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.facts import DkimFacts
from mxwizard.diagnosis.rules.dkim import judge_dkim
from mxwizard.probes.dkim import DkimKey, KeyState, judge_key_record
from mxwizard.probes.dns import Lookup
from rules.conftest import facts_with, recorded


def _key(selector: str, lookup: Lookup) -> DkimKey:
    """The key as the probe judges the record it found (``probes.dkim.dkim_key``)."""
    state, record, key_type, bits, problem, tags = judge_key_record(lookup.texts())
    return DkimKey(selector, "home.test", lookup, state, record, key_type, bits, problem, tags)


def test_the_labs_signing_key_is_a_2048_bit_rsa_key() -> None:
    key = _key("mail", recorded("healthy-sender")("mail._domainkey.home.test", "TXT"))
    [ok] = judge_dkim(facts_with(), DkimFacts("home.test", key=key))
    assert (ok.id, ok.status) == ("dkim.ok", Status.PASS)
    assert ok.title == "DKIM key published at mail._domainkey.home.test (2048-bit RSA)"


def test_a_revoked_key_fails_and_the_fix_publishes_a_new_selector() -> None:
    key = _key("revoked", recorded("dkim-key-revoked")("revoked._domainkey.home.test", "TXT"))
    assert key.state is KeyState.REVOKED
    [revoked] = judge_dkim(facts_with(), DkimFacts("home.test", key=key))
    assert (revoked.id, revoked.status, revoked.side) == ("dkim.key-revoked", Status.FAIL, Side.YOU)
    assert '  NEWSELECTOR._domainkey.home.test. 3600 IN TXT "v=DKIM1; k=rsa; p=' in revoked.fix
    assert revoked.evidence[-1] == 'revoked._domainkey.home.test. 300 IN TXT "v=DKIM1; k=rsa; p="'


def test_without_a_selector_or_a_message_dkim_says_how_to_check_it() -> None:
    [skipped] = judge_dkim(facts_with(), DkimFacts("home.test"))
    assert (skipped.id, skipped.status) == ("dkim.not-checked", Status.INFO)
    assert "--dkim-selector" in skipped.fix
