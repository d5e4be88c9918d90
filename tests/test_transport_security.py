"""Transport security of a receiving domain: certificates, MTA-STS, TLS-RPT, DANE and DNSSEC.

The parsers and matchers are tested on their own, without a network; everything else against
real servers on loopback: the lab (its CA, its MX hosts, its policy web server, its DNS playing a
validating resolver) and, where the lab has no such server, a small one made here.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import dns.zone
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import run_cli
from mxwizard.core.inputs import parse_domain
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans import receive
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab.dns_server import LabDnsServer
from mxwizard.lab.pki import lab_pki
from mxwizard.lab.world import World, lab_zones, running_lab
from mxwizard.probes.dane import association, parse_tlsa
from mxwizard.probes.dns import DnsClient
from mxwizard.probes.mta_sts import MAX_POLICY_BYTES, FetchOutcome, fetch_policy
from mxwizard.probes.mta_sts_policy import mx_matches, parse_policy, parse_sts_record
from mxwizard.probes.smtp.certificates import TrustStore, load_trust_store, verify_chain
from mxwizard.probes.smtp.tls import name_matches
from mxwizard.probes.tls_rpt import parse_tls_rpt

CheckJson = Callable[[list[str]], tuple[int, Any]]


def _one(report: Any, ident: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["id"] == ident]
    assert len(found) == 1, (ident, [f["id"] for f in report["findings"]])
    return found[0]


# --- the texts, parsed ----------------------------------------------------------------------


def test_the_mta_sts_record_needs_version_first_and_a_short_id() -> None:
    assert parse_sts_record("v=STSv1; id=20260101000000Z;").valid
    assert parse_sts_record("v=STSv1; id=abc; ext_1=some-value").valid
    assert "no id=" in parse_sts_record("v=STSv1;").problems[0]
    assert not parse_sts_record("v=STSv1; id=" + "a" * 33).valid
    assert not parse_sts_record("v=STSv1; id=2026-01-01").valid
    assert not parse_sts_record("id=1; v=STSv1").valid


def test_a_policy_is_parsed_strictly() -> None:
    good = parse_policy(b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\n"
                        b"mx: *.example.net\r\nmax_age: 604800\r\n")
    assert good.valid and good.mode == "enforce" and good.max_age == 604800
    assert good.mx == ("mail.example.org", "*.example.net") and good.line_endings == "CRLF"
    bare = parse_policy(b"version: STSv1\nmode: testing\nmx: mx.example.org\nmax_age: 86400\n")
    assert bare.valid and bare.line_endings == "LF" and "bare LF" in bare.notes[0]
    for body, problem in (
        (b"mode: enforce\r\nmx: a.example.org\r\nmax_age: 86400\r\n", "'version: STSv1' is missing"),
        (b"version: STSv1\r\nmode: strict\r\nmx: a.example.org\r\nmax_age: 86400\r\n", "mode is"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: a.example.org\r\nmax_age: 99999999\r\n",
         "more than a year"),
        (b"version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n", "no 'mx:' line"),
        (b"version: STSv1\r\nmode: enforce\r\nmode: none\r\nmx: a.example.org\r\nmax_age: 1\r\n",
         "more than once"),
        (b"version: STSv1\r\nMode: enforce\r\nmx: a.example.org\r\nmax_age: 86400\r\n", "lower case"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: *.org\r\nmax_age: 86400\r\n", "top-level"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: not a host\r\nmax_age: 86400\r\n", "not a host"),
        (b"version: STSv1\rmode: enforce\r\nmx: a.example.org\r\nmax_age: 86400\r\n", "carriage"),
    ):
        parsed = parse_policy(body)
        assert not parsed.valid and any(problem in p for p in parsed.problems), (body, parsed)
    assert "less than a day" in parse_policy(
        b"version: STSv1\r\nmode: none\r\nmax_age: 60\r\n").notes[0]


def test_mx_patterns_match_one_label_like_certificates() -> None:
    assert mx_matches("mail.example.org", "MAIL.example.org.")
    assert mx_matches("mx1.example.org", "*.example.org")
    assert not mx_matches("example.org", "*.example.org")
    assert not mx_matches("a.b.example.org", "*.example.org")
    assert not mx_matches("mail.example.org.evil.test", "mail.example.org")


def test_certificate_names_follow_rfc_6125() -> None:
    assert name_matches("mx.example.org", ("*.example.org",), (), None) == (True, False)
    assert name_matches("a.mx.example.org", ("*.example.org",), (), None) == (False, False)
    assert name_matches("mx.example.org", ("mail.example.org",), (), "mx.example.org") == (False, False)
    assert name_matches("mx.example.org", (), (), "mx.example.org") == (True, True)


def test_tls_rpt_records_need_a_usable_report_address() -> None:
    good = parse_tls_rpt("v=TLSRPTv1; rua=mailto:tls@example.org,https://reports.example.org/x")
    assert good.valid and len(good.rua) == 2
    assert "http:" in parse_tls_rpt("v=TLSRPTv1; rua=http://reports.example.org/").problems[0]
    assert "no rua=" in parse_tls_rpt("v=TLSRPTv1;").problems[0]
    assert not parse_tls_rpt("v=TLSRPTv1; rua=mailto:nobody").valid
    assert not parse_tls_rpt("v=TLSRPTv1; rua=ftp://x.example.org/").valid


def test_tlsa_association_data_is_what_openssl_computes() -> None:
    der = lab_pki().issue("mx.dane.test").der
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert association(der, 0, 0) == der.hex()
    assert association(der, 0, 1) == hashlib.sha256(der).hexdigest()
    assert association(der, 1, 1) == hashlib.sha256(spki).hexdigest()
    assert association(der, 1, 2) == hashlib.sha512(spki).hexdigest()
    assert association(der, 2, 1) is None and association(der, 1, 3) is None
    assert parse_tlsa("3 1 1 AB CD") is not None and parse_tlsa("3 1 1 abc") is None


# --- chains, against the trust store --------------------------------------------------------


def _store_with_lab_ca() -> TrustStore:
    return TrustStore((lab_pki().ca,), ("the lab CA",))


def test_a_chain_from_the_lab_ca_verifies_only_where_the_ca_is_trusted() -> None:
    pki = lab_pki()
    issued = pki.issue("mx.trusted.test")
    chain = (issued.der, pki.ca_der)
    trusted = verify_chain(chain, "mx.trusted.test", _store_with_lab_ca())
    assert trusted.trusted and trusted.path[-1] == "CN=mxwizard lab CA"
    system = verify_chain(chain, "mx.trusted.test", load_trust_store(None))
    assert not system.trusted and "private one" in system.reason
    # dates and names are findings of their own: the chain of an expired or misnamed
    # certificate from a trusted authority still verifies
    for server in ("mx.expired.test", "mx.wrongname.test"):
        assert verify_chain((pki.issue(server).der,), server, _store_with_lab_ca()).trusted


def test_the_trust_store_honours_ssl_cert_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(lab_pki().ca_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    store = load_trust_store(None)
    assert [c.subject.rfc4514_string() for c in store.authorities] == ["CN=mxwizard lab CA"]
    assert verify_chain((lab_pki().issue("mx.trusted.test").der,), "mx.trusted.test", store).trusted


def test_a_ca_file_without_certificates_is_said(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert "no readable PEM certificate" in load_trust_store(str(junk)).problems[0]


# --- certificates in context: the lab's MX hosts ------------------------------------------------


def test_a_trusted_certificate_passes(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "trusted.test", "--lab"])
    assert code == 0
    assert _one(report, "smtp.tls-certificate-ok")["status"] == "pass"
    assert "smtp.tls-certificate" not in [f["id"] for f in report["findings"]]


def test_without_the_lab_ca_the_same_certificate_is_untrusted() -> None:
    async def run() -> Any:
        async with running_lab(dns_port=0, smtp_port=0) as world:
            settings = world.point(Settings(timeout=5))
            return await diagnose(receive.plan(parse_domain("trusted.test")),
                                  replace(settings, ca_file=None))

    diagnosis = asyncio.run(run())
    [finding] = [f for f in diagnosis.findings if f.id == "smtp.tls-certificate"]
    assert finding.status.value == "warn" and "private one" in finding.detail


@pytest.mark.parametrize(("domain", "words"), [
    ("expired.test", "it expired on"),
    ("wrongname.test", "it is issued for mail.elsewhere.test, not for mx.wrongname.test"),
    ("users.test", "it is self-signed"),
])
def test_certificate_problems_are_warnings_naming_who_refuses(
        check_json: CheckJson, domain: str, words: str) -> None:
    code, report = check_json(["check", "receive", domain, "--lab"])
    findings = [f for f in report["findings"] if f["id"] == "smtp.tls-certificate"]
    assert findings and all(f["status"] == "warn" and f["side"] == "you" for f in findings)
    assert words in findings[0]["detail"] and "MTA-STS" in findings[0]["detail"]
    assert "publishes neither" in findings[0]["detail"]
    assert code == 0  # a warning: most senders deliver anyway


def test_a_self_signed_mx_under_mta_sts_enforce_fails(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "selfsts.test", "--lab"])
    finding = _one(report, "smtp.tls-certificate")
    assert code == 1 and finding["status"] == "fail" and finding["side"] == "you"
    assert "enforce mode" in finding["detail"] and "self-signed" in finding["detail"]
    assert "certbot" in finding["fix"]
    assert report["verdict"]["status"] == "fail"


# --- MTA-STS ------------------------------------------------------------------------------------


def test_a_good_policy_in_enforce_mode(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "stsgood.test", "--lab"])
    assert code == 0
    for ident in ("mta-sts.ok", "mta-sts.mx-listed", "tls-rpt.ok", "smtp.tls-certificate-ok"):
        assert _one(report, ident)["status"] == "pass"
    # the policy host was looked up through the diagnosis's resolver (the lab's), not the system's
    asked = [(q["qname"], q["qtype"]) for q in report["dns"]]
    assert ("mta-sts.stsgood.test", "A") in asked and ("_mta-sts.stsgood.test", "TXT") in asked
    # it ran beside the SMTP visits: its lookups started before the first SMTP line
    first_smtp = min(t["lines"][0]["t_ms"] for t in report["transcripts"] if t["lines"])
    txt = next(q for q in report["dns"] if q["qname"] == "_mta-sts.stsgood.test")
    assert txt["t_ms"] < first_smtp


def test_testing_mode_is_a_note(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "ststesting.test", "--lab"])
    assert code == 0 and _one(report, "mta-sts.testing")["status"] == "info"


def test_a_policy_that_misses_an_mx_host(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "stsmiss.test", "--lab"])
    finding = _one(report, "mta-sts.mx-not-listed")
    assert code == 1 and finding["status"] == "fail"
    assert "mx2.stsmiss.test" in finding["title"]
    assert "  mx: mx1.stsmiss.test" in finding["fix"] and "  mx: mx2.stsmiss.test" in finding["fix"]


@pytest.mark.parametrize(("domain", "ident", "words"), [
    ("sts404.test", "mta-sts.policy-http-status", "answers 404"),
    ("stsbig.test", "mta-sts.policy-too-large", "64 KB"),
    ("stsredirect.test", "mta-sts.policy-redirect", "redirect"),
])
def test_policy_fetch_failures_each_have_their_finding(
        check_json: CheckJson, domain: str, ident: str, words: str) -> None:
    code, report = check_json(["check", "receive", domain, "--lab"])
    finding = _one(report, ident)
    assert code == 1 and finding["status"] == "fail" and words in finding["title"]
    assert f"server_name mta-sts.{domain};" in finding["fix"]
    assert "mx: mx.trusted.test" in finding["fix"]  # the real MX host, in the policy to serve


def test_a_policy_server_that_never_answers_times_out_in_time(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "ststimeout.test", "--lab", "--timeout", "1"])
    finding = _one(report, "mta-sts.fetch-timeout")
    assert code == 1 and finding["status"] == "fail"
    assert report["elapsed_ms"] < 8000


async def test_the_policy_web_server_answers_after_the_lab_latency() -> None:
    async with running_lab(latency_ms=300, dns_port=0, smtp_port=0, https_port=0) as world:
        settings = world.point(Settings(timeout=5))
        fetch = await fetch_policy(DnsClient([(world.dns_addr, world.dns_port)], 5), "dane.test",
                                   settings)
    assert fetch.outcome is FetchOutcome.OK and b"mx: mx.dane.test" in fetch.body
    assert fetch.ms >= 250  # the fetch alone: the address lookups' latency is not in it


# A policy server made here for what the lab does not have: a name of a private CA made here too,
# and an answer streamed without a Content-Length.


def _private_ca(name: str, directory: str) -> tuple[str, ssl.SSLContext]:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path = os.path.join(directory, "ca.pem")
    Path(ca_path).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = os.path.join(directory, "chain.pem")
    Path(chain).write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
                            + leaf.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_path, context


async def _streaming_policy(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(20):
        await response.write(b"mx: filler.example.org\r\n" * 200)
    await response.write_eof()
    return response


@pytest.fixture
async def streaming_server() -> AsyncIterator[tuple[Settings, DnsClient]]:
    with tempfile.TemporaryDirectory() as directory:
        ca_file, context = _private_ca("mta-sts.stream.test", directory)
        app = web.Application()
        app.router.add_get("/.well-known/mta-sts.txt", _streaming_policy)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = int(runner.addresses[0][1])
        zone = dns.zone.from_text("@ SOA ns. h. 1 1 1 1 1\n@ NS ns.\nmta-sts A 127.0.0.1\n",
                                  origin="stream.test.", relativize=False)
        server = LabDnsServer([zone])
        dns_port = await server.start("127.0.0.1", 0)
        settings = Settings(resolver=("127.0.0.1", dns_port), timeout=3, ca_file=ca_file,
                            https_port=port, own_networks=("127.0.0.0/8",))
        try:
            yield settings, DnsClient([("127.0.0.1", dns_port)], 3)
        finally:
            await server.close()
            await runner.cleanup()


async def test_a_streamed_policy_is_read_no_further_than_the_limit(
        streaming_server: tuple[Settings, DnsClient]) -> None:
    settings, client = streaming_server
    fetch = await fetch_policy(client, "stream.test", settings)
    assert fetch.outcome is FetchOutcome.TOO_LARGE and len(fetch.body) == MAX_POLICY_BYTES
    # without the private CA, the same server's certificate is refused
    refused = await fetch_policy(client, "stream.test", replace(settings, ca_file=None))
    assert refused.outcome is FetchOutcome.CERTIFICATE and "certificate" in refused.error


# --- TLS-RPT ------------------------------------------------------------------------------------


def test_a_malformed_tls_rpt_record(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "rptbad.test", "--lab"])
    finding = _one(report, "tls-rpt.invalid")
    assert finding["status"] == "warn" and "http:" in finding["detail"]
    assert '_smtp._tls.rptbad.test. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@rptbad.test"' \
        in finding["fix"]
    assert code == 0


# --- DNSSEC and DANE ----------------------------------------------------------------------------


def test_dane_records_that_match(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "dane.test", "--lab"])
    assert code == 0
    assert _one(report, "dane.ok")["status"] == "pass"
    assert _one(report, "dnssec.signed")["status"] == "pass"
    assert any(q.get("ad") for q in report["dns"] if q["qtype"] == "TLSA")


def test_dane_records_that_do_not_match_give_the_right_record(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "danebad.test", "--lab"])
    finding = _one(report, "dane.mismatch")
    assert code == 1 and finding["status"] == "fail" and finding["side"] == "you"
    expected = association(lab_pki().issue("mx.danebad.test").der, 1, 1)
    assert f"_25._tcp.mx.danebad.test. 3600 IN TLSA 3 1 1 {expected}" in finding["fix"]


def test_a_bogus_zone_is_told_from_other_servfails(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "bogus.test", "--lab"])
    finding = _one(report, "dnssec.bogus")
    assert code == 1 and finding["status"] == "fail"
    retry = [q for q in report["dns"] if q["qname"] == "bogus.test" and "checking disabled" in
             q.get("note", "")]
    assert retry and retry[0]["rcode"] == "NOERROR"
    assert "dnssec.bogus" not in [f["id"] for f in check_json(
        ["check", "receive", "dns-servfail.test", "--lab"])[1]["findings"]]


async def test_without_a_validating_resolver_dnssec_cannot_be_judged(lab: World) -> None:
    unsigned = LabDnsServer(lab_zones(), root_apex_only=True)  # no zone signed: no AD, ever
    port = await unsigned.start("127.0.0.1", 0)
    try:
        settings = lab.point(Settings(timeout=5)).with_changes(resolver=("127.0.0.1", port))
        diagnosis = await diagnose(receive.plan(parse_domain("dane.test")), settings)
    finally:
        await unsigned.close()
    [finding] = [f for f in diagnosis.findings if f.id == "dnssec.not-validated"]
    assert "cannot be judged" in finding.title and "mx.dane.test" in finding.detail
    assert not [f for f in diagnosis.findings if f.id.startswith("dane.")]


def test_the_lab_ca_option_is_a_file(check_json: CheckJson, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(lab_pki().ca_pem)
    code, report = check_json(["check", "receive", "trusted.test", "--lab", "--ca-file", str(ca)])
    assert code == 0 and _one(report, "smtp.tls-certificate-ok")
    assert json.dumps(report).count("--ca-file") >= 1  # the store names where trust came from


def test_a_ca_file_that_is_not_there_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["check", "receive", "trusted.test", "--ca-file", "/nonexistent/ca.pem"],
                              capsys)
    assert code == 2 and "--ca-file" in err and "CA file" in err


# --- witnesses: dig, openssl and curl see the same lab ----------------------------------------


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return done.stdout + done.stderr


needs_tools = pytest.mark.skipif(not all(shutil.which(t) for t in ("dig", "openssl", "curl")),
                                 reason="dig, openssl and curl are the witnesses")


@needs_tools
async def test_dig_sees_the_lab_validate_and_refuse(lab: World) -> None:
    dig = ("dig", f"@{lab.dns_addr}", "-p", str(lab.dns_port), "+tries=1", "+time=3")
    signed = await asyncio.to_thread(_run, *dig, "+adflag", "MX", "dane.test")
    assert re.search(r"flags:[^;]* ad[ ;]", signed), signed
    unsigned = await asyncio.to_thread(_run, *dig, "+adflag", "MX", "healthy.test")
    assert not re.search(r"flags:[^;]* ad[ ;]", unsigned), unsigned
    bogus = await asyncio.to_thread(_run, *dig, "MX", "bogus.test")
    assert "status: SERVFAIL" in bogus and "EDE: 6" in bogus, bogus
    assert "status: NOERROR" in await asyncio.to_thread(_run, *dig, "+cd", "MX", "bogus.test")


@needs_tools
async def test_openssl_agrees_with_the_lab_dane_records(lab: World) -> None:
    rdata = [f"3 1 1 {association(lab_pki().issue('mx.dane.test').der, 1, 1)}",
             f"3 1 1 {lab_pki().retired_spki_sha256()}"]
    verdicts = []
    for record in rdata:
        out = await asyncio.to_thread(
            _run, "openssl", "s_client", "-brief", "-starttls", "smtp", "-connect",
            f"127.0.6.8:{lab.smtp_port}", "-dane_tlsa_domain", "mx.dane.test",
            "-dane_tlsa_rrdata", record)
        verdicts.append("Verification: OK" in out or "Verified peername" in out)
    assert verdicts == [True, False]


@needs_tools
async def test_curl_fetches_the_lab_policy_with_the_lab_ca(lab: World) -> None:
    assert lab.ca_file is not None
    url = f"https://mta-sts.stsgood.test:{lab.https_port}/.well-known/mta-sts.txt"
    resolve = f"mta-sts.stsgood.test:{lab.https_port}:127.0.6.200"
    policy = await asyncio.to_thread(_run, "curl", "-sS", "--cacert", lab.ca_file, "--resolve",
                                     resolve, url)
    assert "mode: enforce" in policy and "mx: mx.trusted.test" in policy
    refused = await asyncio.to_thread(_run, "curl", "-sS", "--resolve", resolve, url)
    assert "certificate" in refused.lower()
