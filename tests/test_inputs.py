"""The input parsers: what they accept, how they normalise, and both forms of IDNA names."""

from __future__ import annotations

import pytest

from mxwizard.core.inputs import (
    InputError,
    parse_address,
    parse_domain,
    parse_host_port,
    parse_resolver,
)


def test_unicode_domain_keeps_both_forms() -> None:
    domain = parse_domain("Bücher.Example.")
    assert domain.ascii == "xn--bcher-kva.example"
    assert domain.text == "bücher.example"
    assert domain.shown == "bücher.example (xn--bcher-kva.example)"


def test_a_label_domain_is_shown_in_unicode_too() -> None:
    assert parse_domain("xn--bcher-kva.example").text == "bücher.example"


def test_address_with_unicode_domain() -> None:
    address = parse_address("anna@bücher.example")
    assert str(address) == "anna@xn--bcher-kva.example"
    assert address.domain.text == "bücher.example"


@pytest.mark.parametrize(
    ("value", "host", "port"),
    [
        ("mail.example.com", "mail.example.com", None),
        ("mail.example.com:2525", "mail.example.com", 2525),
        ("192.0.2.7:25", "192.0.2.7", 25),
        ("[2001:db8::1]:587", "2001:db8::1", 587),
        ("2001:db8::1", "2001:db8::1", None),
    ],
)
def test_host_port(value: str, host: str, port: int | None) -> None:
    parsed = parse_host_port(value)
    assert (parsed.host, parsed.port) == (host, port)


def test_resolver_port_defaults_to_53() -> None:
    assert parse_resolver("127.0.0.1") == ("127.0.0.1", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)


@pytest.mark.parametrize("value", ["", " ", "a b", "a..b", "a_b@c", "1.2.3.4", "x" * 300])
def test_rejected_domains(value: str) -> None:
    with pytest.raises(InputError):
        parse_domain(value)
