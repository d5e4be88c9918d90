"""One connection to a lab mail host: aiosmtpd speaking the lab's reply policy, with a session log.

Why aiosmtpd and why a subclass: aiosmtpd gives a correct SMTP state machine (pipelining,
STARTTLS, DATA dot-stuffing, size limits) that we would otherwise have to write and test, but it
has no public way to change its greeting, to see the raw command lines or to refuse every command
after a 554 greeting. So this module, and only this module, leans on aiosmtpd's internals:

* ``_cb_client_connected`` — wrapped to wrap the stream reader's ``readuntil``, which aiosmtpd
  uses for command lines, so that the session log records exactly what the client sent;
* ``_smtp_methods`` — the command table, replaced for 554 hosts so that only QUIT works;
* ``_handler_coroutine`` — the task of the conversation, cancelled when the lab closes;
* ``_getaddr`` — its address parser, widened for open relays (which swallow anything).

Everything else goes through public hooks (``push``, ``smtp_*`` commands, the ``handle_*``
handler). When aiosmtpd changes, this is the one file to look at; tests/lab/test_smtp_hosts.py
drives every one of these paths over real sockets. What the host answers is decided in
:mod:`mxwizard.lab.smtp_policy`; this module only does the I/O around it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mxwizard.lab.smtp_policy import (
    HANDLER_FAILURE,
    IDLE_TIMEOUT,
    MESSAGE_SIZE_LIMIT,
    NO_VALID_RECIPIENTS,
    ONLY_QUIT_REPLY,
    REFUSED_COMMANDS,
    TLS_ALREADY_ACTIVE,
    ReplyPolicy,
    SessionLog,
    logged_line,
    postfix_wording,
)

if TYPE_CHECKING:
    from mxwizard.lab.smtp_hosts import LabSmtp

log = logging.getLogger(__name__)


class HostHandler:
    """The aiosmtpd handler of one host: asks its :class:`ReplyPolicy` what to answer."""

    def __init__(self, policy: ReplyPolicy) -> None:
        self.policy = policy
        self.spec = policy.spec

    async def handle_HELO(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        session.host_name = hostname
        server.log.helo = hostname
        return f"250 {self.spec.name}"

    async def handle_EHLO(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        server.log.helo = hostname
        return self.policy.ehlo(tls_active=session.ssl is not None)

    async def handle_MAIL(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        server.rejected_recipients = 0
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        client = await server.client_rejection() if self.spec.client_checks else None
        reply = self.policy.recipient(
            address, peer=server.log.peer, sender=envelope.mail_from, helo=session.host_name,
            client_rejection=client, now=time.monotonic(),
        )
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        else:
            server.rejected_recipients += 1
        return reply

    async def handle_DATA(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        envelope.content = envelope.original_content = None  # the lab delivers nothing anywhere
        return self.policy.data(secrets.token_hex(5).upper())

    async def handle_RSET(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 Ok"

    async def handle_NOOP(
        self, server: LabSmtpSession, session: Session, envelope: Envelope, arg: str
    ) -> str:
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server: LabSmtpSession, session: Session, envelope: Envelope) -> str:
        return "221 2.0.0 Bye"

    async def handle_exception(self, error: Exception) -> str:
        log.debug("lab SMTP host %s: %r", self.spec.name, error)
        return HANDLER_FAILURE


class _OnlyQuit(dict[str, Any]):
    """Command table of a host that greeted with 554: QUIT works, everything else gets 503."""

    def __init__(self, quit_command: Any, refuse: Any) -> None:
        super().__init__(QUIT=quit_command)
        self.refuse = refuse

    def get(self, command: str, default: Any = None) -> Any:
        return self["QUIT"] if command == "QUIT" else self.refuse


class LabSmtpSession(SMTP):
    """One connection to a lab host: aiosmtpd's SMTP with Postfix wording, latency and a session log.

    It hooks in at narrow places: `push` (every reply goes through it: greeting, Postfix wording,
    latency), `_cb_client_connected` (records command lines), the command table (554 hosts) and
    `_getaddr` (open relays); see the module's docstring for why these private names.
    """

    def __init__(self, handler: HostHandler, lab: LabSmtp, **kwargs: Any) -> None:
        spec = handler.spec
        tls = lab.tls_context(spec) if spec.starttls else None
        super().__init__(
            handler, hostname=spec.greeting_name, ident="ESMTP", tls_context=tls,
            enable_SMTPUTF8=True, data_size_limit=MESSAGE_SIZE_LIMIT, timeout=IDLE_TIMEOUT,
            **kwargs,
        )
        self.policy = handler.policy
        self.spec = spec
        self.lab = lab
        self.log = SessionLog(peer="")
        self.rejected_recipients = 0
        self._greeted = False
        self._in_reply = False
        self._reading_message = False
        self._client_checked = False
        self._client_verdict: str | None = None
        self._raw_transport: asyncio.BaseTransport | None = None
        if spec.banner == "reject":  # aiosmtpd-private: its table of smtp_* methods
            self._smtp_methods = _OnlyQuit(self._smtp_methods["QUIT"], self._refuse_command)

    # connection bookkeeping

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._raw_transport is None
        if first:
            self._raw_transport = transport
        super().connection_made(transport)
        if first:
            assert self.session is not None
            peer = self.session.peer
            self.log.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer)
            self.lab.session_started(self)
        else:  # aiosmtpd calls it again with the TLS transport after STARTTLS
            self.log.tls = True

    def connection_lost(self, error: Exception | None) -> None:
        self.lab.session_ended(self)
        super().connection_lost(error)

    def abort(self) -> None:
        """Drop the connection at once (the lab is closing)."""
        if isinstance(self._raw_transport, asyncio.WriteTransport):
            self._raw_transport.abort()
        elif self._raw_transport is not None:
            self._raw_transport.close()
        if self._handler_coroutine is not None:  # aiosmtpd-private: the conversation's task
            self._handler_coroutine.cancel()

    @property
    def handler_task(self) -> asyncio.Task[None] | None:
        """The task running this conversation (for a clean shutdown)."""
        return self._handler_coroutine

    def _cb_client_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # aiosmtpd-private: the one place that hands us the stream reader of the connection.
        super()._cb_client_connected(reader, writer)
        read_line = reader.readuntil

        async def recording_readuntil(separator: bytes = b"\n") -> bytes:
            line = await read_line(separator)
            if not self._reading_message:
                self.log.commands.append(logged_line(line))
            return line

        reader.readuntil = recording_readuntil  # type: ignore[method-assign,assignment]

    # replies

    async def push(self, status: str | bytes) -> None:
        reply = status.decode("utf-8", "surrogateescape") if isinstance(status, bytes) else status
        if not self._greeted:  # the first thing aiosmtpd pushes is its greeting
            self._greeted = True
            reply = self.policy.greeting(reply)
        reply = postfix_wording(reply)
        if self.lab.latency and not self._in_reply:
            await asyncio.sleep(self.lab.latency)
        self._in_reply = reply[3:4] == "-"
        await super().push(reply.encode("utf-8", "surrogateescape"))

    async def _refuse_command(self, arg: str | None) -> None:
        await self.push(ONLY_QUIT_REPLY)

    async def client_rejection(self) -> str | None:
        """The client checks' verdict on this connection's peer (looked up once per connection)."""
        if not self._client_checked:
            self._client_verdict = await self.lab.checks.rejection(self.log.peer)
            self._client_checked = True
        return self._client_verdict

    # commands that differ from aiosmtpd's defaults

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        address, rest = super()._getaddr(arg)  # aiosmtpd-private: its address parser
        if address is None and self.spec.open_relay:
            # An open relay swallows even <user@elsewhere@here>, which the parser refuses.
            match = re.match(r"^\s*<([^<>]*)>(.*)$", arg)
            if match:
                return match.group(1), match.group(2)
        return address, rest

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.session is not None and self.session.ssl is not None:
            await self.push(TLS_ALREADY_ACTIVE)
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        assert self.envelope is not None
        if self.envelope.mail_from and not self.envelope.rcpt_tos and self.rejected_recipients:
            await self.push(NO_VALID_RECIPIENTS)
            return
        self._reading_message = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._reading_message = False

    async def smtp_AUTH(self, arg: str) -> None:
        await self.push(REFUSED_COMMANDS["AUTH"])

    async def smtp_VRFY(self, arg: str) -> None:
        await self.push(REFUSED_COMMANDS["VRFY"])

    async def smtp_EXPN(self, arg: str) -> None:
        await self.push(REFUSED_COMMANDS["EXPN"])

    async def smtp_HELP(self, arg: str) -> None:
        await self.push(REFUSED_COMMANDS["HELP"])
