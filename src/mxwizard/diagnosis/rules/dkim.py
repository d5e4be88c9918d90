"""Rules for DKIM: is the key published and sound, and does a real message's signature verify?

A DKIM failure has very different causes — no key under that selector, a key withdrawn with an
empty ``p=``, a key too short to count, a body changed after signing (a footer added by a later
hop), a header changed or a private key that does not match the published one — and each has
its own fix. These rules say which one it is.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import DkimFacts
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dkim import (
    MAX_RSA_BITS,
    MAX_SIGNATURES,
    MIN_RSA_BITS,
    RECOMMENDED_RSA_BITS,
    DkimKey,
    KeyState,
    SignatureCheck,
    Verdict,
)
from mxwizard.render.dnsview import dig_command


def _publish(selector: str, domain: str) -> str:
    return (f"Publish your public key as a TXT record:\n"
            f"  {selector}._domainkey.{domain}. 3600 IN TXT \"v=DKIM1; k=rsa; p=MIIBIjANBg...\"\n"
            f"Make a {RECOMMENDED_RSA_BITS}-bit key pair if you have none: opendkim-genkey -b "
            f"{RECOMMENDED_RSA_BITS} -d {domain} -s {selector} (writes {selector}.txt with the "
            f"record and {selector}.private for the signer), or rspamadm dkim_keygen. Long keys "
            "are split into several quoted strings in one TXT record.")


def _key_evidence(key: DkimKey) -> tuple[str, ...]:
    shown = [visible(r.zone_line(), 300) for r in key.lookup.answer] or [key.lookup.outcome.value]
    return (dig_command(key.lookup), *shown)


def judge_key(key: DkimKey) -> list[Finding]:
    """dkim.no-key, dkim.key-revoked, dkim.key-too-small, dkim.key-too-large, dkim.key-malformed
    or dkim.ok."""
    name = visible(key.name, 300)
    evidence = _key_evidence(key)
    if key.state is KeyState.LOOKUP_FAILED:
        problem = unanswered(key.lookup, f"the DKIM key {key.name}")
        return [problem] if problem else []
    if key.state is KeyState.MISSING:
        return [Finding(
            "dkim.no-key", Status.FAIL, f"No DKIM key is published at {name}",
            detail=("Receivers that find a signature with this selector look for the key here and "
                    "find nothing, so the signature fails ('dkim=permerror (no key)'). Either the "
                    "selector is wrong (look at s= in the DKIM-Signature header of a sent "
                    "message) or the key was never published."),
            fix=_publish(key.selector, key.domain), side=Side.YOU, evidence=evidence)]
    if key.state is KeyState.REVOKED:
        return [Finding(
            "dkim.key-revoked", Status.FAIL, f"The DKIM key at {name} is revoked (empty p=)",
            detail=("An empty p= means the domain withdrew this key on purpose: every signature "
                    "made with it fails. If your server still signs with this selector, its mail "
                    "fails DKIM."),
            fix=("Sign with a current selector, or publish a new key under a new selector and "
                 "switch the signer to it.\n" + _publish("NEWSELECTOR", key.domain)),
            side=Side.YOU, evidence=evidence)]
    if key.state is KeyState.TOO_SMALL:
        return [Finding(
            "dkim.key-too-small", Status.FAIL, f"The DKIM key at {name} is too short ({key.bits} bits)",
            detail=(f"Receivers ignore RSA keys shorter than {MIN_RSA_BITS} bits (RFC 8301), so "
                    "signatures made with it count as failed."),
            fix=_publish(key.selector, key.domain), side=Side.YOU, evidence=evidence)]
    if key.state is KeyState.TOO_LARGE:
        return [Finding(
            "dkim.key-too-large", Status.WARN, f"The DKIM key at {name} is too large to check",
            detail=(f"{visible(key.problem, 300)}. Signatures made with it were not verified "
                    "here, and receivers whose software refuses such keys count them as failed."),
            fix=(f"Use an RSA key of {RECOMMENDED_RSA_BITS} bits (at most {MAX_RSA_BITS}) with the "
                 "public exponent 65537, which is what every key tool makes.\n"
                 + _publish(key.selector, key.domain)),
            side=Side.YOU, evidence=evidence)]
    if key.state is KeyState.MALFORMED:
        return [Finding(
            "dkim.key-malformed", Status.FAIL, f"The DKIM key record at {name} is malformed",
            detail=(f"{visible(key.problem, 300)}. Receivers cannot use it, so every signature "
                    "with this selector fails."),
            fix=("Publish the record exactly as your key tool printed it (a common mistake is "
                 "pasting the quotes or line breaks into the DNS panel).\n"
                 + _publish(key.selector, key.domain)),
            side=Side.YOU, evidence=evidence)]
    notes = []
    if key.key_type == "rsa" and key.bits < RECOMMENDED_RSA_BITS:
        notes.append(f" A {key.bits}-bit key still counts, but {RECOMMENDED_RSA_BITS} bits are "
                     "recommended; plan a new key under a new selector.")
    if key.testing:
        notes.append(" The record says t=y (testing): receivers may treat failures leniently; "
                     "remove it once signing works.")
    size = f"{key.bits}-bit {key.key_type.upper()}" if key.bits else key.key_type
    return [Finding("dkim.ok", Status.PASS, f"DKIM key published at {name} ({size})",
                    detail="The key record is well formed." + "".join(notes), evidence=evidence)]


_WHY = {
    Verdict.BODY_CHANGED: (
        "the body of the message was changed after it was signed",
        "Something between your signer and the receiver changed the body: a disclaimer or "
        "footer added by a later server or an antivirus gateway, a mailing list, or line-ending "
        "or encoding conversion. Sign on the last server before the internet, after anything "
        "that modifies messages."),
    Verdict.HEADER_CHANGED: (
        "the signature over the headers does not verify: a signed header (Subject, From, "
        "Date...) was changed after signing, or the signer uses a private key that does not "
        "match the published public key",
        "Compare the signer's private key with the published record (derive the public key: "
        "openssl rsa -in KEY -pubout) and check that nothing rewrites headers after signing "
        "(subject tags, From rewriting)."),
    Verdict.BAD_SIGNATURE: (
        "the DKIM-Signature header itself is malformed",
        "Check the signer's configuration; the header it writes is not valid."),
    Verdict.UNSUPPORTED: (
        "the signature uses an algorithm this machine cannot verify",
        "Nothing to fix on your side if other receivers verify it."),
}


def judge_signature(check: SignatureCheck) -> list[Finding]:
    """One DKIM-Signature of the message: dkim.ok, or dkim.fail with the reason."""
    who = f"d={visible(check.domain, 200)} s={visible(check.selector, 100)}"
    if check.verdict is Verdict.VALID:
        return [Finding("dkim.ok", Status.PASS, f"The message's DKIM signature ({who}) verifies",
                        detail="Signed headers: " + ", ".join(check.signed_headers))]
    if check.verdict is Verdict.KEY_PROBLEM and check.key is not None:
        return judge_key(check.key)
    if check.verdict is Verdict.NOT_CHECKED:
        return [Finding(
            "dkim.untested", Status.ERROR, f"The message's DKIM signature ({who}) was not checked",
            detail=(f"It could not be checked in time: {visible(check.detail, 200)}. This says "
                    "nothing about the signature itself."),
            fix="Run the check again, with a longer --timeout if the DNS answers slowly.",
            side=Side.NETWORK)]
    why, fix = _WHY.get(check.verdict, (visible(check.detail, 300), "See the detail."))
    status = Status.INFO if check.verdict is Verdict.UNSUPPORTED else Status.FAIL
    return [Finding(
        "dkim.fail", status, f"The message's DKIM signature ({who}) fails",
        detail=f"It fails because {why}. ({visible(check.detail, 200)})",
        fix=fix, side=Side.YOU,
        evidence=("Signed headers: " + ", ".join(check.signed_headers),))]


def judge_dkim(facts: Facts, found: DkimFacts) -> list[Finding]:
    """The key check and the message check; dkim.not-checked when neither was asked for."""
    findings: list[Finding] = []
    if found.key is not None:
        findings += judge_key(found.key)
    if found.unreadable:
        findings.append(Finding("dkim.untested", Status.ERROR, "Could not read the message file",
                                detail=visible(found.unreadable, 300),
                                fix="Give a message saved as .eml (raw RFC 5322 text)."))
    if found.message is not None:
        if found.message.problem:
            findings.append(Finding(
                "dkim.unsigned", Status.WARN, "The message carries no usable DKIM signature",
                detail=(f"{visible(found.message.problem, 300)}. Without DKIM, DMARC depends on SPF "
                        "alone, which breaks whenever mail is forwarded."),
                fix=("Turn on DKIM signing in your mail server (OpenDKIM or rspamd for Postfix, "
                     "the DKIM settings of hMailServer or Exchange) and publish the key."),
                side=Side.YOU))
        for check in found.message.signatures:
            findings += judge_signature(check)
        skipped = found.message.total - len(found.message.signatures)
        if skipped > 0 and not found.message.problem:
            findings.append(Finding(
                "dkim.signatures-skipped", Status.INFO,
                f"{skipped} more DKIM signature{'s' if skipped > 1 else ''} of the message "
                "were not checked",
                detail=(f"The message carries {found.message.total} DKIM-Signature headers; the "
                        f"first {MAX_SIGNATURES} (from the top) were checked. Receivers stop "
                        "early too (OpenDKIM checks 3 by default), so a signature further down "
                        "may never be looked at by them either."),
                fix=("Sign once per domain that matters: usually your own signature is "
                     "enough, with your provider's if it signs too.")))
    if not findings:
        findings.append(Finding(
            "dkim.not-checked", Status.INFO, "DKIM was not checked",
            detail=("DKIM needs the selector your server signs with (the s= value in the "
                    "DKIM-Signature header of a message it sent) or a signed message."),
            fix="Run again with --dkim-selector SELECTOR, or with --message sent.eml."))
    return findings
