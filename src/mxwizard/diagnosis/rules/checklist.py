"""Will the big providers accept it? Gmail's, Yahoo's and Outlook.com's published sender rules.

Since 2024 (Gmail, Yahoo) and 2025 (Outlook.com), the biggest mailbox providers publish what
they demand of senders, most of it of everyone and more of bulk senders (5,000 messages a day
or more): SPF and DKIM passing, a DMARC record aligned with the From domain, forward-confirmed
reverse DNS, TLS, messages that follow RFC 5322, and one-click unsubscribe (RFC 8058) for
marketing mail. This module holds each provider's rules with their published source and judges
each one from the facts of the send check: ``pass``, ``fail``, or ``not-checkable`` when the
check cannot see it (no ``--message``, or a rule about the sender's reputation).

Spam-complaint rates are part of every provider's rules and cannot be measured from outside:
they are always ``not-checkable``, with the provider's own tool to read them.

The rows are the report's checklist (JSON ``"checklist"``); the findings summarise them per
provider. What is wrong with the message's own headers is said by
:mod:`mxwizard.diagnosis.rules.message`, whose judgements the message rows share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mxwizard.core.findings import (
    ROW_FAIL,
    ROW_NOT_CHECKABLE,
    ROW_PASS,
    ROW_STATUS_WIDTH,
    Finding,
    Side,
    Status,
)
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import CHECKLIST, DkimFacts, Rehearsal, SpfFacts
from mxwizard.diagnosis.rules.message import (
    HEADERS_FIX,
    UNSUBSCRIBE_FIX,
    header_problems,
    judge_message,
    unsubscribe_problems,
)
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dkim import KeyState, Verdict
from mxwizard.probes.dmarc import DmarcFacts, aligned
from mxwizard.probes.message_headers import MessageHeaders
from mxwizard.probes.reverse_dns import ReverseDns

PASS, FAIL, NOT_CHECKABLE = ROW_PASS, ROW_FAIL, ROW_NOT_CHECKABLE

GMAIL_SOURCE = "https://support.google.com/a/answer/81126"
YAHOO_SOURCE = "https://senders.yahooinc.com/best-practices/"
MICROSOFT_SOURCE = ("https://techcommunity.microsoft.com/blog/microsoftdefenderforoffice365blog/"
                    "strengthening-email-ecosystem-outlook%E2%80%99s-new-requirements-for-high"
                    "%E2%80%90volume-senders/4399730")
POSTMASTER_TOOLS = "https://postmaster.google.com/"
YAHOO_SENDER_HUB = "https://senders.yahooinc.com/"
SNDS = "https://sendersupport.olc.protection.outlook.com/snds/"


@dataclass(frozen=True)
class SenderFacts:
    """What the send check learnt that the providers' rules are about (None: not observed)."""

    domain: str
    spf: SpfFacts | None = None
    dkim: DkimFacts | None = None
    dmarc: DmarcFacts | None = None
    rdns: ReverseDns | None = None
    rehearsal: Rehearsal | None = None
    #: The headers of ``--message`` (None when no message was given).
    headers: MessageHeaders | None = None


@dataclass(frozen=True)
class ChecklistRow:
    """One rule of one provider and how this send fares against it."""

    provider: str
    rule: str
    status: str
    source: str
    fix: str
    #: Why (shown in the text report; not part of the JSON row).
    detail: str = ""
    #: The rule applies to every sender (a fail then costs delivery, not only bulk mail).
    everyone: bool = False
    #: False for rules no check from outside can ever see (complaint rates).
    measurable: bool = True

    def to_json(self) -> dict[str, str]:
        """The row as in the JSON report's ``checklist``."""
        return {"provider": self.provider, "rule": self.rule, "status": self.status,
                "source": self.source, "fix": self.fix}


#: (status, why, fix): one rule's verdict before it is put in a provider's row.
Judged = tuple[str, str, str]


def _spf(facts: SenderFacts) -> Judged:
    spf = facts.spf
    fix = "Authorise your server's address in your SPF record (see the SPF finding)."
    if spf is None or spf.mailfrom is None:
        return NOT_CHECKABLE, "SPF could not be evaluated for your address", fix
    result = spf.mailfrom.result
    return (PASS, "SPF passes", "") if result == "pass" else (FAIL, f"SPF says {result}", fix)


def _dkim(facts: SenderFacts) -> Judged:
    dkim = facts.dkim
    fix = "Sign every message with DKIM for your domain (see the DKIM finding)."
    message = dkim.message if dkim is not None else None
    if message is not None:
        if any(s.verdict is Verdict.VALID for s in message.signatures):
            return PASS, "the message's DKIM signature verifies", ""
        return FAIL, "no DKIM signature of the message verifies", fix
    if dkim is not None and dkim.key is not None and dkim.key.state is not KeyState.OK:
        return FAIL, f"the DKIM key is {dkim.key.state.value}", fix
    return (NOT_CHECKABLE, "only a real message shows that DKIM passes",
            "Give a sent message with --message FILE.eml to check its signature.")


def _spf_and_dkim(facts: SenderFacts) -> Judged:
    (spf, spf_why, _), (dkim, dkim_why, _) = _spf(facts), _dkim(facts)
    why = f"{spf_why}; {dkim_why}"
    fix = ("Authorise your server in SPF and sign every message with DKIM (see the SPF and DKIM "
           "findings).")
    if spf == PASS and dkim == PASS:
        return PASS, why, ""
    if FAIL in (spf, dkim):
        return FAIL, why, fix
    return NOT_CHECKABLE, why, fix + " Give --message FILE.eml to check DKIM."


def _dmarc(facts: SenderFacts) -> Judged:
    dmarc = facts.dmarc
    fix = (f"Publish a DMARC record:\n  _dmarc.{facts.domain}. 3600 IN TXT "
           f"\"v=DMARC1; p=none; rua=mailto:dmarc@{facts.domain}\"")
    if dmarc is None or (dmarc.record is None and dmarc.failed_lookup is not None):
        return NOT_CHECKABLE, "the DMARC record could not be looked up", fix
    if dmarc.record is None or dmarc.several:
        return FAIL, "no single DMARC record is published", fix
    return PASS, f"DMARC p={dmarc.record.policy} is published", ""


def _alignment(facts: SenderFacts) -> Judged:
    dmarc = facts.dmarc
    fix = ("Make SPF or DKIM pass for the domain in From: send with an envelope sender of that "
           "domain, or sign with d= that domain.")
    if dmarc is None or dmarc.record is None:
        return NOT_CHECKABLE, "there is no DMARC record to align with", fix
    from_domain = facts.domain
    dkim = facts.dkim
    if dkim is not None and dkim.message is not None and dkim.message.from_domain:
        from_domain = dkim.message.from_domain
    spf = facts.spf
    if spf is not None and spf.mailfrom is not None and spf.mailfrom.result == "pass" \
            and aligned(spf.mailfrom.domain, from_domain, dmarc.record.strict_spf):
        return PASS, f"SPF passes for a domain aligned with {from_domain}", ""
    if dkim is not None and dkim.message is not None:
        if any(s.verdict is Verdict.VALID and aligned(s.domain, from_domain, dmarc.record.strict_dkim)
               for s in dkim.message.signatures):
            return PASS, f"a DKIM signature of {from_domain} verifies", ""
        return FAIL, f"neither SPF nor DKIM passes aligned with {from_domain}", fix
    if spf is None or spf.mailfrom is None:
        return NOT_CHECKABLE, "SPF could not be evaluated and no message was given", fix
    return (NOT_CHECKABLE, "SPF does not align; DKIM can only be checked on a message",
            fix + " Give --message FILE.eml to check DKIM.")


def _fcrdns(facts: SenderFacts) -> Judged:
    rdns = facts.rdns
    fix = ("Ask whoever runs the address (your ISP or hosting provider) for a PTR record naming "
           "your server, and give that name an A record with the address (see the reverse DNS "
           "finding).")
    if rdns is None:
        return NOT_CHECKABLE, "reverse DNS could not be checked", fix
    if rdns.fcrdns:
        return PASS, f"{rdns.ip} -> {', '.join(rdns.confirmed_names[:2])} -> {rdns.ip}", ""
    return FAIL, f"{rdns.ip} has no forward-confirmed reverse DNS name", fix


def _tls(facts: SenderFacts) -> Judged:
    rehearsal = facts.rehearsal
    fix = ("Let your server use STARTTLS when it sends (Postfix: smtp_tls_security_level = may; "
           "Exim: hosts_try_tls = *, the default).")
    if rehearsal is None or not rehearsal.visits:
        return NOT_CHECKABLE, "the delivery rehearsal did not talk to the receiver", fix
    session = rehearsal.visits[-1].final
    if session.tls is not None:
        return (PASS, f"the receiver's server negotiated {session.tls.version} in the rehearsal; "
                "your server must use STARTTLS too", "")
    if not session.starttls_offered:
        return NOT_CHECKABLE, "the receiver in this rehearsal offers no STARTTLS", fix
    return FAIL, f"TLS failed in the rehearsal ({visible(session.tls_error or '?', 100)})", fix


def _needs_message(facts: SenderFacts) -> Judged | None:
    headers = facts.headers
    if headers is None:
        return (NOT_CHECKABLE, "no message was given",
                "Give a sent message with --message FILE.eml to check its headers.")
    if headers.problem:
        return NOT_CHECKABLE, headers.problem, "Give a message file in RFC 5322 format."
    return None


def _one_click(facts: SenderFacts) -> Judged:
    missing = _needs_message(facts)
    if missing is not None:
        return missing
    problems = unsubscribe_problems(facts)
    if problems:
        return FAIL, "; ".join(problems), UNSUBSCRIBE_FIX
    return PASS, "List-Unsubscribe with https: and One-Click, covered by DKIM", ""


def _unsubscribe(facts: SenderFacts) -> Judged:
    missing = _needs_message(facts)
    if missing is not None:
        return missing
    if facts.headers is not None and facts.headers.list_unsubscribe:
        return PASS, "the message has a List-Unsubscribe header", ""
    return FAIL, "the message has no List-Unsubscribe header", UNSUBSCRIBE_FIX


def _rfc5322(facts: SenderFacts) -> Judged:
    missing = _needs_message(facts)
    if missing is not None:
        return missing
    assert facts.headers is not None
    problems = header_problems(facts.headers)
    return (FAIL, "; ".join(problems), HEADERS_FIX) if problems else \
        (PASS, "one valid From, a Date and a Message-ID", "")


def _from(facts: SenderFacts) -> Judged:
    missing = _needs_message(facts)
    if missing is not None:
        return missing
    assert facts.headers is not None
    problem = facts.headers.from_problem
    return (FAIL, problem, HEADERS_FIX) if problem else (PASS, facts.headers.from_address, "")


def _rate(where: str) -> Callable[[SenderFacts], Judged]:
    def judge(facts: SenderFacts) -> Judged:
        return NOT_CHECKABLE, "complaint rates are seen only by the provider", f"Watch it in {where}."
    return judge


@dataclass(frozen=True)
class Rule:
    """One published rule of one provider."""

    text: str
    judge: Callable[[SenderFacts], Judged]
    everyone: bool = False
    measurable: bool = True


PROVIDERS: dict[str, tuple[str, tuple[Rule, ...]]] = {
    "Gmail": (GMAIL_SOURCE, (
        Rule("SPF and DKIM pass (everyone needs one; 5,000+ messages a day need both)",
             _spf_and_dkim),
        Rule("DMARC record published, at least p=none (5,000+ a day)", _dmarc),
        Rule("From domain aligned with SPF or DKIM (5,000+ a day)", _alignment),
        Rule("Sending IP has valid forward and reverse DNS (PTR)", _fcrdns, everyone=True),
        Rule("Mail is sent over a TLS connection", _tls, everyone=True),
        Rule("Messages follow RFC 5322 (From, Date, Message-ID)", _rfc5322, everyone=True),
        Rule("One-click unsubscribe, RFC 8058, for marketing mail (5,000+ a day)", _one_click),
        Rule("Spam rate in Postmaster Tools below 0.3% (aim for 0.1%)",
             _rate(f"Google Postmaster Tools, {POSTMASTER_TOOLS}"), measurable=False),
    )),
    "Yahoo": (YAHOO_SOURCE, (
        Rule("SPF and DKIM pass (everyone needs one; bulk senders both)", _spf_and_dkim),
        Rule("DMARC record published, at least p=none (bulk senders)", _dmarc),
        Rule("From domain aligned with SPF or DKIM (bulk senders)", _alignment),
        Rule("Sending IP has valid forward and reverse DNS", _fcrdns, everyone=True),
        Rule("Messages follow RFC 5321 and RFC 5322", _rfc5322, everyone=True),
        Rule("One-click unsubscribe, RFC 8058 (bulk senders)", _one_click),
        Rule("Spam complaint rate below 0.3%",
             _rate(f"Yahoo's Sender Hub and complaint feedback loop, {YAHOO_SENDER_HUB}"),
             measurable=False),
    )),
    "Microsoft (Outlook.com)": (MICROSOFT_SOURCE, (
        Rule("SPF passes (5,000+ messages a day)", _spf),
        Rule("DKIM passes (5,000+ a day)", _dkim),
        Rule("DMARC record published, at least p=none (5,000+ a day)", _dmarc),
        Rule("DMARC aligned with SPF or DKIM (5,000+ a day)", _alignment),
        Rule("A valid From address (recommended)", _from),
        Rule("A working unsubscribe link (recommended)", _unsubscribe),
        Rule("Reputation and complaints",
             _rate(f"Microsoft's Smart Network Data Services (SNDS), {SNDS}"), measurable=False),
    )),
}
_IDS = {"Gmail": "gmail", "Yahoo": "yahoo", "Microsoft (Outlook.com)": "microsoft"}


def checklist_rows(facts: SenderFacts) -> list[ChecklistRow]:
    """Every rule of every provider, judged."""
    rows: list[ChecklistRow] = []
    for provider, (source, rules) in PROVIDERS.items():
        for rule in rules:
            status, why, fix = rule.judge(facts)
            rows.append(ChecklistRow(provider, rule.text, status, source,
                                     fix if status != PASS else "", visible(why, 300),
                                     rule.everyone, rule.measurable))
    return rows


def checklist_of(facts: Facts) -> list[ChecklistRow]:
    """The rows of a finished diagnosis (empty unless its checklist step ran): what the
    report shows as its checklist."""
    found = facts.get(CHECKLIST)
    return checklist_rows(found) if found is not None else []


def _row_line(row: ChecklistRow) -> str:
    return f"{row.status:{ROW_STATUS_WIDTH}} {row.rule}" + (f": {row.detail}" if row.detail else "")


def judge_checklist(facts: SenderFacts, rows: list[ChecklistRow]) -> list[Finding]:
    """One finding per provider, the message's header findings, and the spam-rate note."""
    out = judge_message(facts)
    for provider in PROVIDERS:
        mine = [r for r in rows if r.provider == provider]
        failed = [r for r in mine if r.status == FAIL]
        open_ = [r for r in mine if r.status == NOT_CHECKABLE and r.measurable]
        evidence = tuple(_row_line(r) for r in mine)
        ident = f"checklist.{_IDS[provider]}"
        if failed:
            severe = any(r.everyone for r in failed)
            out.append(Finding(
                ident, Status.FAIL if severe else Status.WARN,
                f"{provider} sender rules: {len(failed)} not met",
                detail=("Not met: " + "; ".join(f"{r.rule} ({r.detail})" for r in failed) + ". "
                        + ("Some of these apply to every sender: expect rejections or the spam "
                           "folder." if severe else "These apply to bulk senders (5,000 or more "
                           "messages a day); below that they are strong advice.")),
                fix="\n".join(f"- {r.fix}" for r in failed if r.fix), side=Side.YOU,
                evidence=evidence + (f"source: {mine[0].source}",)))
        elif not any(r.status == PASS for r in mine):
            out.append(Finding(
                ident, Status.INFO, f"{provider} sender rules could not be checked here",
                detail="None of them could be judged: " + "; ".join(r.detail for r in open_[:4]) + ".",
                side=Side.NONE, evidence=evidence + (f"source: {mine[0].source}",)))
        else:
            note = (" Not checkable here: " + "; ".join(r.rule for r in open_) + ".") if open_ else ""
            out.append(Finding(ident, Status.PASS,
                               f"Every {provider} sender rule that can be checked here is met",
                               detail="See the checklist below." + note,
                               evidence=evidence + (f"source: {mine[0].source}",)))
    out.append(Finding(
        "checklist.spam-rate", Status.INFO, "Spam-complaint rates cannot be measured from here",
        detail=("Every provider also limits how often its users mark your mail as spam (Gmail and "
                "Yahoo: below 0.3%, aim for 0.1%). Only the providers see it."),
        fix=(f"Gmail: Postmaster Tools, {POSTMASTER_TOOLS}\nYahoo: Sender Hub, {YAHOO_SENDER_HUB}\n"
             f"Outlook.com: SNDS, {SNDS}"),
        side=Side.NONE))
    return out
