"""The record parsers read hostile DNS text: whatever arrives, they answer and never raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mxwizard.diagnosis.rules.identity import looks_generic
from mxwizard.probes.dkim import judge_key_record, parse_tags
from mxwizard.probes.dmarc import organisational_domain, parse_dmarc
from mxwizard.probes.spf import proposed_record
from mxwizard.probes.spf_record import LOOKUP_TERMS, is_spf, parse_spf

#: Pieces real records are made of, so generated text reaches the interesting branches.
SPF_PIECES = st.sampled_from([
    "v=spf1", "ip4:192.0.2.1", "ip4:192.0.2.0/24", "ip6:2001:db8::/32", "-all", "~all", "?all",
    "+all", "all", "mx", "a", "a:mail.example.com/24", "include:_spf.example.net", "ptr",
    "exists:%{i}.bl.example", "redirect=example.org", "exp=explain.example", "=", ":", "/",
    "ip:1.2.3.4", "-", "~", "?", "+", "a//", "include:", "moo=", "%{", "\x00", "é", "  ",
])
DMARC_PIECES = st.sampled_from([
    "v=DMARC1", "p=none", "p=reject", "p=quarantine", "p=", "sp=reject", "aspf=s", "adkim=r",
    "pct=50", "pct=x", "rua=mailto:d@example.com", ";", "=", " ", "p=bogus", "v=DMARC1;p=none",
    "\t", "é", "\x00",
])


def _joined(pieces: list[str], separator: str) -> str:
    return separator.join(pieces)


@given(st.lists(SPF_PIECES, max_size=12), st.sampled_from([" ", "", "  "]))
def test_spf_parser_never_raises_on_record_like_text(pieces: list[str], separator: str) -> None:
    text = _joined(pieces, separator)
    record = parse_spf(text)
    assert record.text == text
    assert record.lookup_terms == sum(1 for t in record.terms if t.name in LOOKUP_TERMS)
    assert all(isinstance(p, str) for p in record.problems)
    assert record.all_qualifier in {None, "+", "-", "~", "?"}
    if not is_spf(text):
        assert record.terms == () and record.problems


@given(st.text())
def test_spf_parser_never_raises_on_any_text(text: str) -> None:
    record = parse_spf(text)
    _ = (record.includes, record.redirect, record.mechanisms, record.lookup_terms)
    assert proposed_record(record if is_spf(text) else None, "192.0.2.1").startswith("v=spf1 ip4:")


@given(st.text())
def test_spf_parser_never_raises_after_the_version(text: str) -> None:
    record = parse_spf("v=spf1 " + text)
    assert is_spf(record.text)


@given(st.lists(DMARC_PIECES, max_size=10), st.sampled_from(["; ", ";", " "]))
def test_dmarc_parser_never_raises_on_record_like_text(pieces: list[str], separator: str) -> None:
    record = parse_dmarc(_joined(pieces, separator))
    assert record.policy in {"", "none", "quarantine", "reject"}
    assert record.subdomain_policy in {"", "none", "quarantine", "reject"}
    assert 0 <= record.percent <= 100
    assert isinstance(record.strict_spf, bool) and isinstance(record.strict_dkim, bool)


@given(st.text())
def test_dmarc_parser_never_raises_on_any_text(text: str) -> None:
    for candidate in (text, "v=DMARC1; " + text):
        record = parse_dmarc(candidate)
        assert record.policy in {"", "none", "quarantine", "reject"}


@given(st.text())
def test_dkim_key_record_never_raises(text: str) -> None:
    tags = parse_tags(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    state, *_rest = judge_key_record([text, "v=DKIM1; p=" + text])
    assert state is not None


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80),
       st.ip_addresses().map(str))
def test_name_judgements_never_raise(name: str, ip: str) -> None:
    organisational_domain(name or "x")
    assert isinstance(looks_generic(name or "x", ip), str)


def test_known_records_parse_as_expected() -> None:
    record = parse_spf("v=spf1 mx include:_spf.example.net ip4:192.0.2.0/24 redirect=example.org")
    assert record.includes == ["_spf.example.net"] and record.redirect == "example.org"
    assert record.lookup_terms == 3 and record.problems == ()
    assert parse_spf("v=spf1 ip:1.2.3.4 -all").problems == ("unknown mechanism 'ip:1.2.3.4' "
                                                            "(did you mean ip4?)",)
    dmarc = parse_dmarc("v=DMARC1; p=reject; sp=none; aspf=s; pct=20")
    assert (dmarc.policy, dmarc.subdomain_policy, dmarc.strict_spf, dmarc.percent) == \
        ("reject", "none", True, 20)
    assert parse_dmarc("v=DMARC1; rua=mailto:x@example.com").problems
