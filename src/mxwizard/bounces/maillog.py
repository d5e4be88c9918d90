"""Mail logs: Postfix, Exim and Sendmail log lines read into deliveries, and each failure explained.

A bounce is what the sender sees; the mail log is what the server saw. ``mxwizard explain`` takes
log lines the same way it takes a bounce (``--file /var/log/mail.log``, stdin, or pasted into
the wizard). This module recognises the delivery lines the three MTAs document:

* Postfix: ``postfix/smtp[PID]: QUEUEID: to=<ADDR>, relay=..., delay=..., dsn=X.Y.Z,
  status=sent|deferred|bounced|expired (REASON)``, the queue manager's ``from=<ADDR>`` and
  ``status=expired, returned to sender``, ``connect to HOST[IP]:25: REASON``, and on the
  receiving side ``NOQUEUE: reject: RCPT from HOST[IP]: REPLY; from=<..> to=<..> helo=<..>``;
* Exim's main log: ``**`` (failed), ``==`` (deferred), ``=>``/``->`` (delivered), ``<=`` (arrival)
  and ``rejected RCPT`` lines;
* Sendmail: ``QUEUEID: to=<ADDR>, ..., dsn=X.Y.Z, stat=...`` and ``from=<ADDR>``.

Lines are grouped by queue ID and recipient (a delivery that was deferred twice and then sent is
one delivery, sent, after three attempts); each failed or deferred delivery is judged by the
same classifier as a bounce (:mod:`mxwizard.bounces.rules`), with the same classes, sides and
fixes, and a summary counts deliveries by status and names the top failing domains and reasons.
Refusals on the receiving side are your server refusing someone else's mail, so their side is
turned round. Pure, and bounded: at most :data:`MAX_LINES` lines are read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from mxwizard.bounces.rules import Classification, classify
from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.knowledge.bounce_parser import RecipientReport, find_reply
from mxwizard.knowledge.bounces import BOUNCE_CLASSES, BRANCH_LABELS, SEND_CHECK, UNKNOWN_ADVICE, fill
from mxwizard.knowledge.enhanced import split
from mxwizard.knowledge.replies import parse_reply

#: The most log lines read (a busy server's daily log is far longer: pipe the part you need).
MAX_LINES = 200_000
#: The most deliveries explained one by one (the summary counts them all).
MAX_FINDINGS = 200
#: The longest line read (longer ones are cut).
MAX_LINE = 4_000

_TS = (r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?"
       r"(?:Z|[+-]\d\d:?\d\d)?)")
_SYSLOG = rf"^(?:{_TS} )?(?:\S+ )?"
_POSTFIX = re.compile(_SYSLOG + r"postfix(?:-[\w]+)?(?:/[\w.-]+)*/(?P<prog>[\w-]+)\[(?P<pid>\d+)\]: "
                      r"(?P<msg>.*)$")
_SENDMAIL = re.compile(_SYSLOG + r"(?:sendmail|sm-mta)\[(?P<pid>\d+)\]: (?P<msg>.*)$")
_EXIM = re.compile(r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: [+-]\d{4})?(?: \[\d+\])? "
                   r"(?:(?P<id>[\w]{6}-[\w]{6,11}-[\w]{2,4}) )?(?P<msg>.*)$")

_PF_DELIVERY = re.compile(r"^(?P<qid>\w{5,20}): to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)?"
                          r" relay=(?P<relay>[^,]+),(?: conn_use=\d+,)? delay=[\d.]+,(?: delays=[\d./]+,)?"
                          r" dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}),"
                          r" status=(?P<status>\w+) \((?P<reason>.*)\)\s*$")
_PF_FROM = re.compile(r"^(?P<qid>\w{5,20}): from=<(?P<from>[^>]*)>, (?:size|status)=")
_PF_EXPIRED = re.compile(r"^(?P<qid>\w{5,20}): from=<(?P<from>[^>]*)>, status=expired, returned to sender")
_PF_REJECT = re.compile(r"^(?:NOQUEUE|\w{5,20}): (?:reject|milter-reject): (?P<stage>[\w-]+) from "
                        r"(?P<client>[^\s\[]*\[[^\]]+\])(?::\d+)?: (?P<reply>.*?); from=<(?P<from>[^>]*)>"
                        r"(?: to=<(?P<to>[^>]*)>)?(?: proto=\S+)?(?: helo=<(?P<helo>[^>]*)>)?")
_PF_CONNECT = re.compile(r"^connect to (?P<host>[^\s\[]+)(?:\[(?P<ip>[^\]]+)\])?(?::\d+)?: (?P<reason>.+)$")
_SM_TO = re.compile(r"^(?P<qid>\w{8,20}): to=(?P<to>[^,]+),.*?(?: relay=(?P<relay>[^,]+),)?"
                    r"(?:.*? dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}),)?.*? stat=(?P<stat>.*)$")
_SM_FROM = re.compile(r"^(?P<qid>\w{8,20}): from=(?P<from>[^,]+), size=")
_EXIM_FLAGS = ("**", "==", "=>", "->", "*>", "<=")
_EXIM_HOST = re.compile(r"\bH=(?P<host>\S+) \[(?P<ip>[^\]]+)\]")
_EXIM_REJECT = re.compile(r"\bH=(?P<client>.+?) (?:F=<(?P<from>[^>]*)> )?rejected RCPT <(?P<to>[^>]*)>: "
                          r"(?P<reason>.*)$")
_ADDRESS = re.compile(r"<?([^\s<>,]+@[^\s<>,]+)>?")


@dataclass
class Delivery:
    """One recipient of one queued message, as the log tells it."""

    mta: str
    queue_id: str
    recipient: str
    #: sent, deferred, bounced, expired, or rejected (refused on the receiving side).
    status: str = "unknown"
    sender: str | None = None
    relay: str | None = None
    dsn: str | None = None
    reason: str = ""
    attempts: int = 0
    lines: list[str] = field(default_factory=list)
    #: For a refusal on the receiving side: the client that was refused, and its HELO name.
    client: str | None = None
    helo: str | None = None

    def note(self, line: str) -> None:
        """Keep a line as evidence (the last few)."""
        self.lines.append(line[:MAX_LINE])
        del self.lines[:-6]


@dataclass
class MailLog:
    """A log, read: the deliveries in order of first appearance, and what else it says."""

    mtas: Counter[str] = field(default_factory=Counter)
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    #: Connection failures logged on their own (Postfix's "connect to HOST: REASON").
    connect_failures: Counter[str] = field(default_factory=Counter)
    lines_read: int = 0

    def delivery(self, mta: str, queue_id: str, recipient: str) -> Delivery:
        key = (queue_id, recipient.lower())
        found = self.deliveries.get(key)
        if found is None:
            found = self.deliveries[key] = Delivery(mta, queue_id, recipient)
        return found


def _address(value: str | None) -> str:
    match = _ADDRESS.search(value or "")
    return match[1] if match else (value or "").strip("<> ")


def _log_line_kind(line: str) -> str | None:
    if _POSTFIX.match(line):
        return "Postfix"
    if _SENDMAIL.match(line):
        return "Sendmail"
    exim = _EXIM.match(line)
    if exim is not None and (exim["msg"][:2] in _EXIM_FLAGS or "rejected RCPT" in exim["msg"]
                             or exim["msg"].startswith(("Completed", "H=", "SMTP "))):
        return "Exim"
    return None


def looks_like_log(text: str) -> bool:
    """Whether ``text`` is mail log lines (most of its lines are Postfix, Exim or Sendmail log lines)."""
    lines = [line for line in text[:200_000].splitlines()[:400] if line.strip()]
    if not lines:
        return False
    known = sum(1 for line in lines if _log_line_kind(line) is not None)
    return known >= 1 and known * 2 >= len(lines)


def _postfix(log: MailLog, msg: str, line: str, senders: dict[str, str],
             last_connect: dict[str, str], pid: str) -> None:
    delivery = _PF_DELIVERY.match(msg)
    if delivery is not None:
        item = log.delivery("Postfix", delivery["qid"], delivery["to"])
        item.status, item.relay, item.dsn = delivery["status"], delivery["relay"], delivery["dsn"]
        item.reason = delivery["reason"]
        item.attempts += 1
        item.sender = item.sender or senders.get(delivery["qid"])
        if pid in last_connect and last_connect[pid] not in item.lines:
            item.note(last_connect.pop(pid))
        item.note(line)
        return
    expired = _PF_EXPIRED.match(msg)
    if expired is not None:
        for (queue_id, _), item in log.deliveries.items():
            if queue_id == expired["qid"] and item.status == "deferred":
                item.status = "expired"
                item.note(line)
        return
    sender = _PF_FROM.match(msg)
    if sender is not None:
        senders[sender["qid"]] = sender["from"]
        return
    reject = _PF_REJECT.match(msg)
    if reject is not None:
        key = f"NOQUEUE-{len(log.deliveries)}"
        item = log.delivery("Postfix", key, reject["to"] or "(no recipient)")
        item.status, item.reason, item.sender = "rejected", reject["reply"], reject["from"] or None
        item.client, item.helo, item.attempts = reject["client"], reject["helo"], 1
        item.note(line)
        return
    connect = _PF_CONNECT.match(msg)
    if connect is not None:
        log.connect_failures[f"{connect['host']}: {connect['reason'][:80]}"] += 1
        last_connect[pid] = line


def _exim(log: MailLog, queue_id: str | None, msg: str, line: str, senders: dict[str, str]) -> None:
    reject = _EXIM_REJECT.search(msg)
    if reject is not None:
        item = log.delivery("Exim", f"reject-{len(log.deliveries)}", reject["to"])
        item.status, item.reason, item.sender = "rejected", reject["reason"], reject["from"] or None
        client = reject["client"]
        helo = re.search(r"\(([^)]+)\)", client)
        item.client, item.helo, item.attempts = client, helo[1] if helo else None, 1
        item.note(line)
        return
    if queue_id is None or msg[:2] not in _EXIM_FLAGS:
        return
    flag, rest = msg[:2], msg[3:]
    if flag == "<=":
        senders[queue_id] = _address(rest.split(" ", 1)[0])
        return
    recipient = _address(rest.split(" ", 1)[0].rstrip(":"))
    item = log.delivery("Exim", queue_id, recipient)
    item.sender = item.sender or senders.get(queue_id)
    host = _EXIM_HOST.search(rest)
    if host is not None:
        item.relay = f"{host['host']}[{host['ip']}]"
    item.attempts += 1
    item.note(line)
    if flag in ("=>", "->", "*>"):
        item.status = "sent"
        return
    item.status = "bounced" if flag == "**" else "deferred"
    item.reason = rest.split(": ", 1)[1] if ": " in rest else rest
    if flag == "**" and re.search(r"retry timeout exceeded|retry time not reached for any host after a long",
                                  item.reason, re.IGNORECASE) and "have been failing" not in item.reason:
        item.status = "expired"


def _sendmail(log: MailLog, msg: str, line: str, senders: dict[str, str]) -> None:
    sender = _SM_FROM.match(msg)
    if sender is not None:
        senders[sender["qid"]] = _address(sender["from"])
        return
    delivery = _SM_TO.match(msg)
    if delivery is None:
        return
    stat = delivery["stat"].strip()
    for recipient in delivery["to"].split(","):
        item = log.delivery("Sendmail", delivery["qid"], _address(recipient))
        item.sender = item.sender or senders.get(delivery["qid"])
        item.relay, item.dsn, item.attempts = delivery["relay"], delivery["dsn"], item.attempts + 1
        item.note(line)
        if stat.startswith("Sent"):
            item.status, item.reason = "sent", stat
        elif stat.startswith("Deferred"):
            item.status, item.reason = "deferred", stat.split(":", 1)[1].strip() if ":" in stat else stat
        else:
            item.status, item.reason = "bounced", stat


def read_log(text: str) -> MailLog:
    """Every delivery in the log lines, grouped by queue ID and recipient. Never raises."""
    log = MailLog()
    senders: dict[str, str] = {}
    last_connect: dict[str, str] = {}
    for raw in text.splitlines()[:MAX_LINES]:
        line = raw[:MAX_LINE].rstrip()
        log.lines_read += 1
        postfix = _POSTFIX.match(line)
        if postfix is not None:
            log.mtas["Postfix"] += 1
            _postfix(log, postfix["msg"], line, senders, last_connect, postfix["pid"])
            continue
        sendmail = _SENDMAIL.match(line)
        if sendmail is not None:
            log.mtas["Sendmail"] += 1
            _sendmail(log, sendmail["msg"], line, senders)
            continue
        exim = _EXIM.match(line)
        if exim is not None and _log_line_kind(line) == "Exim":
            log.mtas["Exim"] += 1
            _exim(log, exim["id"], exim["msg"], line, senders)
    return log


# --- explaining ---------------------------------------------------------------------------------

_SAFE_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_TURNED = {"you": "them", "them": "you"}


def _safe(address: str | None) -> str | None:
    return address if address and _SAFE_ADDRESS.match(address) else None


def report_of(item: Delivery) -> RecipientReport:
    """The delivery as the facts a bounce would give about the same recipient."""
    found = find_reply(item.reason) if item.reason else None
    diagnostic, command = found if found else (item.reason or None, None)
    code = enhanced = None
    head = parse_reply(diagnostic) if diagnostic else None
    if head is not None:
        code, enhanced, _ = head
    action = {"deferred": "delayed", "sent": "delivered"}.get(item.status, "failed")
    context = f"status={item.status} ({item.reason})"
    return RecipientReport(
        recipient=item.recipient, action=action, status=item.dsn if item.dsn and split(item.dsn) else None,
        remote_mta=item.relay if item.relay and item.relay != "none" else None, diagnostic=diagnostic,
        code=code, enhanced=enhanced, command=command, evidence=tuple(item.lines), context=context)


def _finding(item: Delivery, verdict: Classification, report: RecipientReport) -> Finding:
    incoming = item.status == "rejected"
    who = visible(item.recipient, 120)
    facts = [f"Queue ID: {visible(item.queue_id, 40)}" if not incoming else
             f"Refused client: {visible(item.client or '?', 200)}"
             + (f" (HELO {visible(item.helo, 120)})" if item.helo else ""),
             f"Recipient: {who}"]
    if item.sender:
        facts.append(f"Sender: {visible(item.sender, 200)}")
    if item.relay:
        facts.append(f"Relay: {visible(item.relay, 200)}")
    if item.dsn:
        facts.append(f"DSN code: {visible(item.dsn, 20)}")
    facts.append(f"Status: {item.status}" + (f" after {item.attempts} attempts" if item.attempts > 1 else ""))
    if report.diagnostic:
        facts.append(f"The server said: {visible(report.diagnostic, 400)}")
    if verdict.bounce_class is None:
        return Finding("bounce.unknown", Status.ERROR,
                       f"A {item.status} delivery whose reason could not be recognised ({who})",
                       detail="\n".join(["It is not one of the rejections this tool knows.", "", *facts]),
                       fix=UNKNOWN_ADVICE, side=Side.NONE, evidence=tuple(item.lines), step="explain")
    known = BOUNCE_CLASSES[verdict.bounce_class]
    side = _TURNED.get(verdict.side, verdict.side) if incoming else verdict.side
    lines = [known.explanation]
    if incoming:
        title = f"Your server refused mail from {visible(item.client or '?', 80)} to {who}: " \
                f"{visible(verdict.topic, 80)}"
        lines.insert(0, "This is your own server refusing incoming mail: the fault is on the sending "
                        "side unless your rule is wrong.")
    else:
        title = f"{known.title} ({who})"
    if verdict.underlying:
        last = BOUNCE_CLASSES[verdict.underlying]
        title = title.replace(f" ({who})", f" (last error: {last.title[0].lower()}{last.title[1:]}) ({who})")
    if verdict.reason:
        lines.append(f"What this text means: {verdict.reason}")
    if item.status == "deferred":
        title += " - deferred, still retrying"
        lines.append("The message is still in the queue and will be retried.")
    if verdict.why:
        lines.append(f"How sure: {verdict.confidence} - {verdict.why}.")
    lines += ["", "What the log says:", *facts]
    fix = known.fix
    if incoming:
        fix += ("\nThis refusal was made by your server: if it is wrong, relax the rule that gave "
                "this answer (the reply text names it).")
    else:
        you, them = _safe(item.sender), _safe(item.recipient)
        command, branch = known.command(you, them), known.branch
        if verdict.side == "you" and known.side != "you":
            command, branch = fill(SEND_CHECK, you, them), "send"
        where = f"in the wizard choose '{BRANCH_LABELS[branch]}', or run:" if branch in BRANCH_LABELS \
            else "if it does not clear up by itself, run:"
        fix += f"\nNext step: {where}\n  {command}"
    status = Status.INFO if incoming else Status.WARN if item.status == "deferred" else Status.FAIL
    return Finding(f"bounce.{verdict.bounce_class}", status, title, detail="\n".join(lines), fix=fix,
                   side=Side(side), evidence=tuple(item.lines), step="explain")


def _summary(log: MailLog, judged: list[tuple[Delivery, Classification]]) -> Finding:
    by_status = Counter(item.status for item in log.deliveries.values())
    failing = Counter(item.recipient.rsplit("@", 1)[-1].lower() for item, _ in judged
                      if item.status != "rejected" and "@" in item.recipient)
    reasons = Counter(f"bounce.{v.bounce_class or 'unknown'}" for _, v in judged)
    mtas = ", ".join(name for name, _ in log.mtas.most_common())
    counts = ", ".join(f"{count} {status}"
                       for status, count in sorted(by_status.items(), key=lambda kv: -kv[1]))
    lines = [f"{log.lines_read} lines read ({mtas or 'no known MTA'}); "
             f"{len(log.deliveries)} deliveries: {counts or 'none'}."]
    if failing:
        lines.append("Top failing domains: "
                     + ", ".join(f"{visible(d, 80)} ({n})" for d, n in failing.most_common(5)))
    if reasons:
        lines.append("Top reasons: " + ", ".join(f"{r} ({n})" for r, n in reasons.most_common(5)))
    if log.connect_failures:
        lines.append("Connection failures: " + ", ".join(
            f"{visible(k, 120)} ({n})" for k, n in log.connect_failures.most_common(5)))
    return Finding("maillog.summary", Status.INFO,
                   f"Mail log: {len(log.deliveries)} deliveries ({counts or 'none'})",
                   detail="\n".join(lines), side=Side.NONE, step="explain")


def explain_log(text: str) -> Diagnosis:
    """The diagnosis of mail log lines: one finding per failed or deferred delivery, then a summary
    (left out for a single delivery, which says it all)."""
    log = read_log(text)
    judged: list[tuple[Delivery, Classification]] = []
    findings: list[Finding] = []
    for item in log.deliveries.values():
        if item.status in ("sent", "unknown"):
            continue
        report = report_of(item)
        verdict = classify(report, "", (item.mta,))
        judged.append((item, verdict))
        if len(findings) < MAX_FINDINGS:
            findings.append(_finding(item, verdict, report))
    if len(judged) > MAX_FINDINGS:
        findings.append(Finding("maillog.more", Status.INFO, f"{len(judged) - MAX_FINDINGS} more failed or "
                                f"deferred deliveries are counted in the summary only", step="explain"))
    if not judged:
        sent = sum(1 for item in log.deliveries.values() if item.status == "sent")
        findings.append(Finding("maillog.no-failures", Status.PASS,
                                f"No failed or deferred deliveries in these log lines ({sent} sent)",
                                side=Side.NONE, step="explain"))
    if len(log.deliveries) > 1 or not judged:
        findings.append(_summary(log, judged))
    mta = log.mtas.most_common(1)[0][0] if log.mtas else "mail"
    target = {"shown": f"{mta} mail log ({log.lines_read} lines)"}
    first = next((item for item, _ in judged if item.status != "rejected"), None)
    if first is not None:
        target.update({k: v for k, v in (("from", _safe(first.sender)), ("to", _safe(first.recipient))) if v})
    return Diagnosis(kind="explain", target=target, findings=findings)
