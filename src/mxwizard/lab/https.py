"""The lab's policy web server: every ``mta-sts.*`` name of the lab, over HTTPS, on loopback.

MTA-STS policies are fetched over HTTPS from ``mta-sts.DOMAIN``; the lab's names all resolve to
one address (:data:`~mxwizard.lab.transport.POLICY_SERVER_IP`), where this server answers each by
its Host header the way the situation needs (lab/transport.py's ``POLICIES``): a policy, a 404, no
answer at all, a policy far over the 64 KB senders read, a redirect. Its certificate comes from
the lab CA and names every one of them.

It is an aiohttp server (aiohttp is already installed with textual-serve), bound to loopback only.
With a latency (``lab serve --latency-ms``) every answer waits that long before it is sent, as
every DNS answer and SMTP reply of the lab does, so a policy fetch costs one round trip too.
Handlers are cancelled when the client goes away, and closing the lab cancels any that still wait,
so the "never answers" policy cannot hold the lab open.
"""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web
from aiohttp.typedefs import Handler

from mxwizard.lab.pki import server_context
from mxwizard.lab.transport import POLICIES, POLICY_SERVER_IP

#: Size of the oversize policy: well past the 64 KB senders read.
OVERSIZE_BYTES = 100 * 1024
#: How long the slow policy waits before answering: longer than any --timeout a test uses, and
#: ended early when the client gives up or the lab closes.
SLOW_SECONDS = 120.0
#: The server's latency in seconds (0: answer at once), kept on its application.
LATENCY = web.AppKey("latency", float)


@web.middleware
async def _delayed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Wait the lab's latency, then answer: the delay of a real network's round trip."""
    latency = request.app[LATENCY]
    if latency:
        await asyncio.sleep(latency)
    return await handler(request)


async def _policy(request: web.Request) -> web.StreamResponse:
    host = (request.host or "").rsplit(":", 1)[0].lower().rstrip(".")
    kind, text = POLICIES.get(host, ("missing", ""))
    if kind == "policy":
        return web.Response(body=text.encode("ascii"), content_type="text/plain")
    if kind == "slow":
        await asyncio.sleep(SLOW_SECONDS)
        return web.Response(status=503)
    if kind == "oversize":
        line = b"mx: filler.example.invalid\r\n"
        body = b"version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n"
        body += line * (OVERSIZE_BYTES // len(line))
        return web.Response(body=body, content_type="text/plain")
    if kind == "redirect":
        return web.Response(status=301, headers={"Location": text})
    return web.Response(status=404, text="404: Not Found", content_type="text/plain")


class LabHttps:
    """The policy web server; :meth:`start` binds it, :meth:`close` stops it. ``latency_ms``
    delays every answer."""

    def __init__(self, ip: str = POLICY_SERVER_IP, latency_ms: float = 0) -> None:
        self.ip = ip
        self.latency = max(0.0, latency_ms / 1000)
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    def tls_context(self) -> ssl.SSLContext:
        """The server context: the lab CA's certificate for every mta-sts.* name."""
        return server_context("mta-sts")

    async def start(self, port: int = 0) -> int:
        """Listen on (ip, port); port 0 picks a free one. Returns the port."""
        app = web.Application(middlewares=[_delayed])
        app[LATENCY] = self.latency
        app.router.add_get("/.well-known/mta-sts.txt", _policy)
        app.router.add_route("*", "/{tail:.*}", _policy)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.ip, port, ssl_context=self.tls_context())
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])  # the bound (ip, port): port 0 picked one
        return self.port

    async def close(self) -> None:
        """Stop listening and end every request still being answered."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
