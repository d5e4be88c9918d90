"""The transport-security corner of the lab: certificates, MTA-STS, TLS-RPT, DANE and DNSSEC.

Addresses (loopback, like the rest of the lab):
  127.0.6.1-10   MX hosts whose certificates come from the lab CA (lab/pki.py), or self-signed
  127.0.6.200    the policy web server for every ``mta-sts.*`` name (lab/https.py)

Domains, one situation each (the scenarios in lab/scenarios.py name them):
  trusted.test     MX with a certificate from the lab CA            (trusted in lab mode)
  expired.test     lab CA certificate that expired yesterday
  wrongname.test   lab CA certificate for mail.elsewhere.test
  stsgood.test     MTA-STS enforce, every MX listed, TLS-RPT published
  selfsts.test     MTA-STS enforce, the MX presents a self-signed certificate
  ststesting.test  MTA-STS in testing mode
  stsmiss.test     MTA-STS enforce, the policy lists one of the two MX hosts
  ststimeout.test  the policy web server never answers
  sts404.test      the policy web server answers 404
  stsbig.test      the policy is larger than 64 KB
  stsredirect.test the policy web server redirects
  rptbad.test      a TLS-RPT record whose report address is http:
  dane.test        DNSSEC-signed, TLSA 3 1 1 and 2 0 1 that match what the MX presents, and
                   MTA-STS enforce listing that MX, TLS-RPT published: every protection at once
  danebad.test     DNSSEC-signed, TLSA 3 1 1 of a key the MX no longer has
  bogus.test       DNSSEC validation fails: validating resolvers answer SERVFAIL

The lab's DNS server plays a validating resolver for this (:data:`SIGNED_ZONES`,
:data:`BOGUS_ZONES`). The TLSA records are computed from the lab CA's certificates when the
zones are built, so they match what the servers present in this process.
"""

from __future__ import annotations

import hashlib

from mxwizard.lab.pki import lab_pki
from mxwizard.lab.smtp_hosts import HostSpec

POLICY_SERVER_IP = "127.0.6.200"

#: Domains whose MX is mx.trusted.test (their own subject is the policy or report record).
_VIA_TRUSTED = ("stsgood.test", "ststimeout.test", "sts404.test", "stsbig.test",
                "stsredirect.test", "rptbad.test")

TRANSPORT_HOSTS: tuple[HostSpec, ...] = (
    HostSpec("mx.trusted.test", "127.0.6.1", domains=("trusted.test", *_VIA_TRUSTED)),
    HostSpec("mx.expired.test", "127.0.6.2", domains=("expired.test",)),
    HostSpec("mx.wrongname.test", "127.0.6.3", domains=("wrongname.test",)),
    HostSpec("mx.selfsts.test", "127.0.6.4", domains=("selfsts.test",)),
    HostSpec("mx.ststesting.test", "127.0.6.5", domains=("ststesting.test",)),
    HostSpec("mx1.stsmiss.test", "127.0.6.6", domains=("stsmiss.test",)),
    HostSpec("mx2.stsmiss.test", "127.0.6.7", domains=("stsmiss.test",)),
    HostSpec("mx.dane.test", "127.0.6.8", domains=("dane.test",)),
    HostSpec("mx.danebad.test", "127.0.6.9", domains=("danebad.test",)),
    HostSpec("mx.bogus.test", "127.0.6.10", domains=("bogus.test",)),
)

#: Zones the lab's DNS treats as signed (AD set) and as failing validation (SERVFAIL). The root
#: is signed, as on the internet: that is how a client learns that its resolver validates.
SIGNED_ZONES = (".", "test", "dane.test", "danebad.test")
BOGUS_ZONES = ("bogus.test",)


def _policy(mode: str, *mx: str, max_age: int = 604800) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {m}" for m in mx), f"max_age: {max_age}"]
    return "\r\n".join(lines) + "\r\n"


#: What the policy web server answers for each ``mta-sts.DOMAIN`` name: ("policy", text),
#: ("missing", ""), ("slow", ""), ("oversize", ""), ("redirect", target).
POLICIES: dict[str, tuple[str, str]] = {
    "mta-sts.stsgood.test": ("policy", _policy("enforce", "mx.trusted.test")),
    "mta-sts.selfsts.test": ("policy", _policy("enforce", "mx.selfsts.test")),
    "mta-sts.ststesting.test": ("policy", _policy("testing", "*.ststesting.test")),
    "mta-sts.stsmiss.test": ("policy", _policy("enforce", "mx1.stsmiss.test")),
    "mta-sts.ststimeout.test": ("slow", ""),
    "mta-sts.sts404.test": ("missing", ""),
    "mta-sts.stsbig.test": ("oversize", ""),
    "mta-sts.stsredirect.test": ("redirect", "https://www.stsredirect.test/mta-sts.txt"),
    "mta-sts.dane.test": ("policy", _policy("enforce", "mx.dane.test")),
}

_STS_TXT = '_mta-sts TXT "v=STSv1; id=20260101000000Z"'
_POLICY_HOST = f"mta-sts A {POLICY_SERVER_IP}"


def _spki_sha256(der: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_der_x509_certificate(der).public_key()
    return hashlib.sha256(key.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def transport_zones() -> dict[str, list[str]]:
    """The zones of this corner, with TLSA records computed from this process's lab CA."""
    pki = lab_pki()
    dane_ee = _spki_sha256(pki.issue("mx.dane.test").der)
    dane_ta = hashlib.sha256(pki.ca_der).hexdigest()
    via_trusted = "@ MX 10 mx.trusted.test."
    return {
        "trusted.test": ["@ MX 10 mx", "mx A 127.0.6.1"],
        "expired.test": ["@ MX 10 mx", "mx A 127.0.6.2"],
        "wrongname.test": ["@ MX 10 mx", "mx A 127.0.6.3"],
        "stsgood.test": [via_trusted, _STS_TXT, _POLICY_HOST,
                         '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@stsgood.test"'],
        "selfsts.test": ["@ MX 10 mx", "mx A 127.0.6.4", _STS_TXT, _POLICY_HOST],
        "ststesting.test": ["@ MX 10 mx", "mx A 127.0.6.5", _STS_TXT, _POLICY_HOST],
        "stsmiss.test": ["@ MX 10 mx1", "@ MX 20 mx2", "mx1 A 127.0.6.6", "mx2 A 127.0.6.7",
                         _STS_TXT, _POLICY_HOST],
        "ststimeout.test": [via_trusted, _STS_TXT, _POLICY_HOST],
        "sts404.test": [via_trusted, _STS_TXT, _POLICY_HOST],
        "stsbig.test": [via_trusted, _STS_TXT, _POLICY_HOST],
        "stsredirect.test": [via_trusted, _STS_TXT, _POLICY_HOST],
        "rptbad.test": [via_trusted, '_smtp._tls TXT "v=TLSRPTv1; rua=http://reports.rptbad.test/"'],
        "dane.test": ["@ MX 10 mx", "mx A 127.0.6.8", f"_25._tcp.mx TLSA 3 1 1 {dane_ee}",
                      f"_25._tcp.mx TLSA 2 0 1 {dane_ta}", _STS_TXT, _POLICY_HOST,
                      '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@dane.test"'],
        "danebad.test": ["@ MX 10 mx", "mx A 127.0.6.9",
                         f"_25._tcp.mx TLSA 3 1 1 {pki.retired_spki_sha256()}"],
        "bogus.test": ["@ MX 10 mx", "mx A 127.0.6.10"],
    }
