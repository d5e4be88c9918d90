"""The DNS of the real peers' little internet, as zone-file text parsed by dnspython.

Served by the project's LabDnsServer, behind a real unbound that stubs to it; Postfix, postgrey's
clients, swaks, dig and mxwizard all see the same answers. The root zone is served too, so every
name outside these zones gets an authoritative NXDOMAIN and no query ever leaves the machine.
"""

from __future__ import annotations

import dns.zone

from .network import AddressPlan

#: Short TTLs: nothing here changes during a run, but a stale cache should never outlive a run.
TTL = 300
NEGATIVE_TTL = 60
#: The fixture's own domains.
STRICT = "strict.real.test"
GREY = "grey.real.test"
TLS = "tls.real.test"
HELO = "helo.real.test"
SENDER = "sender.real.test"
#: Mail for this domain is relayed by the signing service into a file (the signed message).
OUTBOX = "out.real.test"
BLOCKLIST = "bl.real.test"
DKIM_SELECTOR = "sel1"
#: The TXT answer of the blocklist for listed addresses (Postfix quotes it in its 554 reply).
LISTING_TEXT = "Listed by the mxwizard realpeers fixture"


def _head(origin: str) -> list[str]:
    return [
        "$ORIGIN ." if origin == "." else f"$ORIGIN {origin}.",
        f"$TTL {TTL}",
        f"@ SOA ns.real.test. hostmaster.real.test. 2026113001 3600 600 86400 {NEGATIVE_TTL}",
        "@ NS ns.real.test.",
    ]


def _txt(value: str, size: int = 200) -> str:
    """A TXT rdata split into quoted strings of at most ``size`` bytes (the 255 limit)."""
    return " ".join(f'"{value[i:i + size]}"' for i in range(0, len(value), size))


def zone_texts(plan: AddressPlan, dkim_public_key: str) -> dict[str, str]:
    """Every zone as origin -> zone-file text.

    ``dkim_public_key`` is the base64 p= value of the signer's key (from opendkim-genkey).
    """
    p = plan
    rev = AddressPlan.reverse_name
    real = _head("real.test") + [
        f"ns A {p.authority}",
        # strict.real.test: one strict MX (blocklist + reverse DNS required)
        "strict MX 10 mx.strict",
        f"mx.strict A {p.strict_mx}",
        # grey.real.test: a plain primary and a greylisting backup
        "grey MX 10 mx1.grey",
        "grey MX 20 mx2.grey",
        f"mx1.grey A {p.grey_primary}",
        f"mx2.grey A {p.grey_backup}",
        # tls.real.test: STARTTLS with a certificate from the fixture's private CA
        "tls MX 10 mx.tls",
        f"mx.tls A {p.tls_mx}",
        # helo.real.test: rejects HELO names that are not fully qualified
        "helo MX 10 mx.helo",
        f"mx.helo A {p.helo_mx}",
        # relay tests name the servers directly
        f"mx.open A {p.open_relay}",
        f"mx.closed A {p.closed_relay}",
        # the sender's domain: its mail host, SPF, DKIM key, DMARC policy
        "sender MX 10 mail.sender",
        f"sender TXT \"v=spf1 ip4:{p.clean} -all\"",
        f"mail.sender A {p.clean}",
        f"bulk.sender A {p.listed}",
        f"out.sender A {p.signer}",
        f"{DKIM_SELECTOR}._domainkey.sender TXT {_txt(f'v=DKIM1; k=rsa; p={dkim_public_key}')}",
        "_dmarc.sender TXT \"v=DMARC1; p=none\"",
        # where the signing service delivers (into a file, never off the machine)
        "out MX 10 out.sender",
    ]
    blocklist = _head(BLOCKLIST) + [
        "2.0.0.127 A 127.0.0.2",  # the RFC 5782 test entry every list carries
        "2.0.0.127 TXT \"test entry\"",
        f"{'.'.join(reversed(p.listed.split('.')))} A 127.0.0.2",
        f"{'.'.join(reversed(p.listed.split('.')))} TXT \"{LISTING_TEXT}\"",
    ]
    reverse = _head(p.reverse_zone) + [
        "1.0.0 PTR localhost.",
        f"{rev(p.authority)} PTR ns.real.test.",
        f"{rev(p.strict_mx)} PTR mx.strict.real.test.",
        f"{rev(p.grey_primary)} PTR mx1.grey.real.test.",
        f"{rev(p.grey_backup)} PTR mx2.grey.real.test.",
        f"{rev(p.tls_mx)} PTR mx.tls.real.test.",
        f"{rev(p.helo_mx)} PTR mx.helo.real.test.",
        f"{rev(p.open_relay)} PTR mx.open.real.test.",
        f"{rev(p.closed_relay)} PTR mx.closed.real.test.",
        f"{rev(p.signer)} PTR out.sender.real.test.",
        f"{rev(p.clean)} PTR mail.sender.real.test.",
        f"{rev(p.listed)} PTR bulk.sender.real.test.",
        # p.no_ptr deliberately has no PTR: NXDOMAIN
    ]
    root = _head(".") + ["test NS ns.real.test."]
    return {
        ".": "\n".join(root) + "\n",
        "real.test": "\n".join(real) + "\n",
        BLOCKLIST: "\n".join(blocklist) + "\n",
        p.reverse_zone: "\n".join(reverse) + "\n",
    }


def parsed_zones(plan: AddressPlan, dkim_public_key: str) -> list[dns.zone.Zone]:
    """The zones parsed the way the lab parses its own (absolute names)."""
    return [dns.zone.from_text(text, origin=origin if origin == "." else f"{origin}.", relativize=False)
            for origin, text in zone_texts(plan, dkim_public_key).items()]
