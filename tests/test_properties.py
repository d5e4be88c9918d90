"""Property-based tests of every parser of outside text: whatever arrives, only the documented
error escapes, and what is shown stays safe.

Users paste anything into the inputs; servers and bounces send anything. Each parser gets random
text plus text built to sit close to the valid forms (where the bugs live), many hundreds of
examples each (``EXAMPLES``; the closing report of the reliability work quotes the counts).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxwizard.bounces.explain import explain_text
from mxwizard.core.inputs import (
    InputError,
    parse_address,
    parse_domain,
    parse_host_port,
    parse_ip,
    parse_port,
    parse_resolver,
)
from mxwizard.core.untrusted import visible
from mxwizard.knowledge.bounce_parser import parse_bounce
from mxwizard.knowledge.replies import meaning, parse_reply
from mxwizard.probes.dmarc import parse_dmarc
from mxwizard.probes.smtp.facts import Reply, parse_extensions
from mxwizard.probes.spf_record import parse_spf
from mxwizard.render.report import render

#: Examples per parser (hypothesis's default is 100).
EXAMPLES = 500
FEW = 150  # for the whole bounce explainer, which renders a report for each example

many = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
few = settings(max_examples=FEW, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: What must never come out of ``visible``: C0/C1 controls, DEL, bidi and invisible format
#: characters, lone surrogates, line and paragraph separators.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069"
                    "\ufeff\ud800-\udfff]")

# -- strategies: random text, and text close to each valid form --------------------------------

hostile_chars = st.sampled_from(list("\x00\x07\x1b\x7f\x85\x9b\u202e\u2066\ufeff\u200b\udcff\n\r\t "))
anything = st.text() | st.text(alphabet=st.characters(codec="utf-8") | hostile_chars)
label = st.text(alphabet="abcxyz019-_ÄéЖ.", min_size=0, max_size=70)
domain_like = st.builds(lambda parts, dot: ".".join(parts) + dot,
                        st.lists(label, min_size=1, max_size=6), st.sampled_from(["", "."])) | anything
local_like = st.text(alphabet='abz09.+-_"()<>[]\\,;: @%!', max_size=80)
address_like = st.builds(lambda a, b, c: f"{a}@{b}{c}", local_like, domain_like,
                         st.sampled_from(["", ">", "@x"])) | anything
octet = st.integers(-5, 300).map(str) | st.text(alphabet="0123456789x", max_size=4)
ipv4_like = st.builds(lambda parts: ".".join(parts), st.lists(octet, min_size=1, max_size=6))
ipv6_like = st.builds(lambda parts: ":".join(parts),
                      st.lists(st.text(alphabet="0123456789abcdefg", max_size=5), min_size=2, max_size=10))
ip_like = ipv4_like | ipv6_like | anything
port_like = st.integers(-10, 70_000).map(str) | st.text(alphabet="0123456789 +-x", max_size=7)
host_port_like = st.builds(lambda h, sep, p: f"{h}{sep}{p}",
                           domain_like | ipv4_like | ipv6_like.map(lambda v: f"[{v}]"),
                           st.sampled_from(["", ":", "::", "]:"]), port_like) | anything
code = st.integers(0, 999).map(lambda n: f"{n:03d}") | st.text(alphabet="0123456789", max_size=4)
enhanced_like = st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 9), st.integers(0, 1000),
                          st.integers(0, 1000)) | st.just("")
reply_like = st.builds(lambda c, sep, e, t: f"{c}{sep}{e} {t}", code, st.sampled_from([" ", "-", "", "\t"]),
                       enhanced_like, anything) | anything
spf_term = st.sampled_from(["v=spf1", "ip4:192.0.2.1", "ip4:1.2.3.4/33", "ip6:::1/129", "a", "mx:",
                            "include:", "redirect=", "exp=", "-all", "~all", "?all", "+all", "ptr",
                            "exists:%{i}", "a/24", "mx//64", "%{", "=", ":", "ip4:", "all"]) | label
spf_like = st.builds(lambda terms, sep: sep.join(terms), st.lists(spf_term, max_size=15),
                     st.sampled_from([" ", "  ", "\t"])) | anything
dmarc_tag = st.sampled_from(["v=DMARC1", "p=reject", "p=", "sp=none", "pct=", "pct=150", "rua=mailto:",
                             "adkim=s", "aspf=x", "fo=1:d", "ri=-1", "=", "p", ";"]) | label
dmarc_like = st.builds(lambda tags, sep: sep.join(tags), st.lists(dmarc_tag, max_size=12),
                       st.sampled_from(["; ", ";", " ;", ""])) | anything
bounce_like = st.builds(
    lambda head, reply, body: f"{head}\n\n{reply}\n{body}",
    st.sampled_from(["Content-Type: multipart/report; report-type=delivery-status; boundary=b",
                     "From: MAILER-DAEMON", "", "Final-Recipient: rfc822; bob@example.com",
                     "--b\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1"]),
    reply_like, anything) | anything


def _only_input_errors(parser: object, value: object) -> None:
    try:
        parser(value)  # type: ignore[operator]
    except InputError as error:
        assert str(error), "an input error must say what is wrong"


# -- mxwizard.core.inputs: only InputError may escape ------------------------------------------------


@many
@given(domain_like)
def test_domains(value: str) -> None:
    try:
        domain = parse_domain(value)
    except InputError:
        return
    assert domain.ascii.isascii() and len(domain.ascii) <= 253
    assert not UNSAFE.search(domain.shown)


@many
@given(address_like)
def test_addresses(value: str) -> None:
    try:
        address = parse_address(value)
    except InputError:
        return
    assert "@" in str(address) and not UNSAFE.search(str(address))


@many
@given(ip_like)
def test_ip_addresses(value: str) -> None:
    _only_input_errors(parse_ip, value)


@many
@given(port_like | st.integers())
def test_ports(value: str | int) -> None:
    try:
        port = parse_port(value)
    except InputError:
        return
    assert 1 <= port <= 65535


@many
@given(host_port_like)
def test_host_and_port(value: str) -> None:
    _only_input_errors(parse_host_port, value)
    _only_input_errors(parse_resolver, value)


# -- reply lines and what they mean -------------------------------------------------------------


@many
@given(reply_like)
def test_reply_lines(line: str) -> None:
    parsed = parse_reply(line)
    if parsed is not None:
        number, enhanced, _text = parsed
        assert 200 <= number <= 599
        assert enhanced is None or enhanced[0] in "245"
        found = meaning(number, line)
        assert found.note and found.explanation


@many
@given(st.integers(-10_000, 10_000) | st.just(0), anything)
def test_reply_meaning_of_any_code_and_text(number: int, text: str) -> None:
    found = meaning(number, text)
    assert isinstance(found.note, str) and isinstance(found.explanation, str)


# -- bounces -----------------------------------------------------------------------------------


@many
@given(bounce_like)
def test_bounce_parser(text: str) -> None:
    parse_bounce(text)


@few
@given(bounce_like)
def test_bounce_explainer_renders_safely(text: str) -> None:
    diagnosis, status = explain_text(text)
    assert status in (0, 1, 2, 3)
    for fmt in ("text", "markdown"):
        assert not UNSAFE.search(render(diagnosis, fmt).replace("\n", ""))
    render(diagnosis, "json")


# -- records from DNS --------------------------------------------------------------------------


@many
@given(spf_like)
def test_spf_records(text: str) -> None:
    parse_spf(text)


@many
@given(dmarc_like)
def test_dmarc_records(text: str) -> None:
    parse_dmarc(text)


# -- EHLO lists --------------------------------------------------------------------------------


@many
@given(st.lists(anything | st.builds(lambda k, p: f"{k} {p}", label, anything), min_size=1, max_size=30))
def test_ehlo_extension_lists(lines: list[str]) -> None:
    extensions = parse_extensions(Reply(250, tuple(lines), None, 0.0))
    assert len(extensions) <= len(lines)
    assert all(keyword == keyword.upper() and keyword for keyword in extensions)


# -- the sanitiser -----------------------------------------------------------------------------


@many
@given(anything, st.integers(1, 2000))
def test_visible_never_lets_a_control_through_and_caps_length(text: str, limit: int) -> None:
    shown = visible(text, limit)
    assert not UNSAFE.search(shown)
    cut = "…(+"
    assert len(shown) <= limit + len(cut) + len(str(len(text))) + 1
    if cut not in shown:
        assert len(shown) <= limit
    assert visible(shown, 100_000) == shown, "escaping twice must change nothing"
