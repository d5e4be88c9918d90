"""The bounce classifier against the patterns it used to miss, each shown on a corpus file.

Every test here failed on the first explainer: a word from the returned original message
deciding the class, words read out of context, an instant failure with a 4.x.x status called an
expiry, wordings it did not know, network errors called expired, and classes it did not have.
Also: one finding per recipient, the confidence and its reason, and the next step filled in
with what the bounce named.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mxwizard.bounces.explain import classify, explain_text, parse_bounce, send_check_values
from mxwizard.core.findings import Finding, Status

CORPUS = Path(__file__).parent / "bounces"


def pick(label: str, contains: str = "") -> str:
    """The one corpus file whose name has ``-LABEL-`` (say "exim-network-error") and whose text has
    ``contains``."""
    found = [p.name for p in sorted(CORPUS.iterdir()) if p.is_file() and f"-{label}-" in p.name
             and contains in p.read_text(encoding="utf-8")]
    assert len(found) == 1, (label, contains, found)
    return found[0]


def read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def problems(name: str) -> list[Finding]:
    diagnosis, _ = explain_text(read(name))
    return [f for f in diagnosis.findings if f.status is not Status.PASS and f.id.startswith("bounce.")]


def main_id(name: str) -> str:
    return problems(name)[0].id


# --- the notice only up to where the original message begins ---------------------------------


@pytest.mark.parametrize("name", [
    # "Original message follows." with no blank line, then HELO and RBL in the original
    pick("imail-mailbox-full", "Original message follows.\nReceived"),
    pick("generic-user-unknown", "vera.n@"),  # the reply runs straight into "Received: ... (HELO ...)"
    pick("generic-mailbox-full", "wade@"),  # DSN fields pasted as text, the original's headers right after
])
def test_the_returned_original_never_decides(name: str) -> None:
    expected = "bounce." + name.split("-", 2)[2].rsplit("-", 1)[0]
    assert main_id(name) == expected
    for finding in problems(name):
        assert "blacklist" not in finding.detail.lower() and "helo and welcome" not in finding.detail.lower()


def test_every_original_in_the_corpus_carries_misleading_words_and_none_is_evidence() -> None:
    """The generated bounces return an original whose text speaks of HELO, quota and blacklists."""
    bounce = parse_bounce(read(pick("exim-mailbox-full", "xavi@")))
    assert "blacklist" not in bounce.body and "HELO" not in bounce.body
    assert "shared drive" in read(pick("exim-mailbox-full", "xavi@"))


def test_boilerplate_is_not_read_as_the_reason() -> None:
    """cPanel's notice says 'they may be blacklisted' in every bounce: not a blocklist."""
    assert main_id(pick("cpanel-mailbox-full")) == "bounce.mailbox-full"


# --- words in context ---------------------------------------------------------------------------


def test_not_listed_in_the_domino_directory_is_an_unknown_user_not_a_blocklist() -> None:
    finding = problems(pick("domino-user-unknown"))[0]
    assert finding.id == "bounce.user-unknown"
    assert "Domino" in finding.detail and "How sure: high" in finding.detail


@pytest.mark.parametrize(("name", "expected"), [
    (pick("office365-user-unknown", "AS(201806281)"), "bounce.user-unknown"),
    (pick("office365-user-unknown", "ivy@"), "bounce.user-unknown"),
    (pick("postfix-spam-content", "Blacklisted URL in message"), "bounce.spam-content"),
    (pick("exim-spam-content", "uribl"), "bounce.spam-content"),
    (pick("postfix-policy-rejected", "Access denied"), "bounce.policy-rejected"),
    (pick("french-blocked-ip", "OFR_999"), "bounce.blocked-ip"),
    (pick("french-blocked-ip", "SFR_403"), "bounce.blocked-ip"),
    (pick("postfix-relay-denied", "No relaying"), "bounce.relay-denied"),
    (pick("generic-relay-denied", "not configured to relay"), "bounce.relay-denied"),
    (pick("zoho-rate-limited"), "bounce.rate-limited"),
])
def test_ambiguous_words_are_read_in_context(name: str, expected: str) -> None:
    assert main_id(name) == expected


# --- instant failures with a 4.x.x status, and network errors --------------------------------


def test_null_mx_with_a_temporary_status_is_an_instant_final_failure() -> None:
    finding = problems(pick("gmail-domain-accepts-no-mail"))[0]
    assert (finding.id, finding.status, finding.side.value) == \
        ("bounce.domain-accepts-no-mail", Status.FAIL, "them")
    assert "retrying for days" not in finding.title
    assert "gave up on this recipient at once" in finding.detail


def test_exims_long_failing_hosts_are_a_network_error_not_an_expiry() -> None:
    finding = problems(pick("exim-network-error", "have been failing"))[0]
    assert finding.id == "bounce.network-error" and "retrying for days" not in finding.title
    assert "Wording recognised: Exim, 'all hosts for" in finding.detail


@pytest.mark.parametrize("name", [
    "09-postfix-network-error-network.eml", pick("postfix-network-error", "Connection refused"),
    pick("postfix-network-error", "No route to host"), pick("postfix-network-error", "try again"),
    pick("qmail-network-error", "establish"), pick("gmail-network-error"),
])
def test_network_errors_at_delivery_time_are_network_errors(name: str) -> None:
    assert main_id(name) == "bounce.network-error"


@pytest.mark.parametrize("name", ["39-exim-expired-network.txt", pick("sendmail-expired", "ivo@"),
                                  pick("qmail-expired", "jem@"), pick("exchange-expired", "guy@slow")])
def test_an_expiry_needs_the_bounce_to_say_so(name: str) -> None:
    finding = problems(name)[0]
    assert finding.id == "bounce.expired"
    if name.startswith("39-"):
        assert "last error: your server could not connect" in finding.title


# --- the new classes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected", "side"), [
    (pick("postfix-sender-rejected", "fin@example.net"), "bounce.sender-rejected", "you"),
    (pick("office365-sender-rejected"), "bounce.sender-rejected", "you"),
    (pick("gmail-mailbox-disabled"), "bounce.mailbox-disabled", "them"),
    (pick("yahoo-mailbox-disabled"), "bounce.mailbox-disabled", "them"),
    (pick("exchange-policy-rejected"), "bounce.policy-rejected", "them"),
    (pick("office365-policy-rejected"), "bounce.policy-rejected", "you"),
    (pick("postfix-receiver-error", "Insufficient"), "bounce.receiver-error", "them"),
    (pick("domino-receiver-error", "hop count"), "bounce.receiver-error", "them"),
    (pick("gmail-virus"), "bounce.virus", "you"),
    (pick("gmail-message-malformed"), "bounce.message-malformed", "you"),
    (pick("office365-message-malformed"), "bounce.message-malformed", "you"),
    (pick("postfix-domain-accepts-no-mail"), "bounce.domain-accepts-no-mail", "them"),
])
def test_the_new_classes(name: str, expected: str, side: str) -> None:
    finding = problems(name)[0]
    assert (finding.id, finding.side.value) == (expected, side)
    assert finding.fix and "Next step:" in finding.fix


@pytest.mark.parametrize(("name", "expected"), [
    (pick("japanese-user-unknown"), "bounce.user-unknown"),
    (pick("japanese-mailbox-full"), "bounce.mailbox-full"),
    (pick("german-user-unknown"), "bounce.user-unknown"),
    (pick("german-mailbox-full"), "bounce.mailbox-full"),
    (pick("spanish-user-unknown"), "bounce.user-unknown"),
    (pick("spanish-mailbox-full"), "bounce.mailbox-full"),
    (pick("french-user-unknown"), "bounce.user-unknown"),
])
def test_providers_own_languages(name: str, expected: str) -> None:
    assert main_id(name) == expected


# --- one finding per recipient ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    (pick("postfix-user-unknown", "ann@example.net"), [("ann@example.net", "bounce.user-unknown"),
                                           ("ben@example.net", "bounce.mailbox-full"),
                                           ("cid@other.example", "bounce.network-error")]),
    (pick("exim-user-unknown", "eva@example.com"), [("dan@example.net", "bounce.user-unknown"),
                                        ("eva@example.com", "bounce.host-unknown")]),
    (pick("exchange-user-unknown", "gil@corp"), [("fil@corp.example.org", "bounce.user-unknown"),
                                            ("gil@corp.example.org", "bounce.mailbox-full")]),
])
def test_every_recipient_is_classified_on_its_own(name: str, expected: list[tuple[str, str]]) -> None:
    diagnosis, status = explain_text(read(name))
    assert status == 1
    got = [(f.title.rsplit("(", 1)[1].rstrip(")"), f.id) for f in diagnosis.findings]
    assert got == expected
    for finding, (address, _) in zip(diagnosis.findings, expected, strict=True):
        assert address in finding.title
        assert any(address in line for line in finding.evidence)
    data = diagnosis.to_json()
    assert [f["id"] for f in data["findings"]] == [klass for _, klass in expected]  # type: ignore[index]


# --- how sure, and why ----------------------------------------------------------------------------


def test_the_confidence_and_its_reason_are_shown() -> None:
    report = parse_bounce(read(pick("exim-network-error", "have been failing"))).recipients[0]
    verdict = classify(report)
    assert verdict.confidence == "high"
    assert verdict.why.startswith("Wording recognised: Exim, 'all hosts for")
    vague = explain_text("550 5.7.1 Denied")[0].findings[0]
    assert vague.id == "bounce.policy-rejected" and "How sure: low" in vague.detail
    coded = explain_text("550 5.1.1 nope")[0].findings[0]
    assert coded.id == "bounce.user-unknown"
    assert "How sure: medium - Enhanced status code 5.1.1" in coded.detail


# --- the next step, filled in -------------------------------------------------------------------


def test_the_next_command_carries_the_addresses_ip_and_helo_of_the_bounce() -> None:
    finding = problems(pick("outlook-blocked-ip", "S3140"))[0]
    command = "mxwizard check send --from alice@example.org --to gus@hotmail.com --ip 198.51.100.23"
    assert command in finding.fix
    assert "YOU@YOUR-DOMAIN" not in finding.fix
    helo = problems(pick("postfix-rdns-or-helo", "localhost.localdomain"))[0]
    assert "--helo localhost.localdomain" in helo.fix, "the HELO name the receiver refused is the one to test"
    ptr = problems(pick("gmail-rdns-or-helo", "gil@"))[0]
    assert "--ip 198.51.100.23 --helo mail.example.org" in ptr.fix, "the reporting server said HELO"
    diagnosis, _ = explain_text(read(pick("outlook-blocked-ip", "S3140")))
    assert send_check_values(diagnosis) == {"sender": "alice@example.org", "recipient": "gus@hotmail.com",
                                            "ip": "198.51.100.23"}


def test_the_remote_servers_own_address_is_never_taken_for_yours() -> None:
    diagnosis, _ = explain_text(read(pick("postfix-user-unknown", "ann@example.net")))
    assert "ip" not in diagnosis.target


def test_fixes_quote_the_wizards_real_menu_labels() -> None:
    from mxwizard.ui.screens.welcome import CHOICES

    labels = [text for _, _, text in CHOICES]
    for name in ("01-postfix-user-unknown-them.eml", pick("outlook-blocked-ip", "S3140")):
        fix = problems(name)[0].fix
        quoted = re.search(r"in the wizard choose '(.+?)', or run:", fix)
        assert quoted is not None and quoted[1] in labels
