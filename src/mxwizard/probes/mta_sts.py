"""MTA-STS (RFC 8461) as a sender discovers it: the ``_mta-sts`` TXT record, then the policy file.

The policy lives at ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``, and senders fetch it the
way RFC 8461 §3.3 says: over HTTPS with a certificate valid for that name, no redirects followed,
a size limit (64 KB) and a time limit. This probe does the same and keeps what happened as facts
(the status, the content type, the body, or where and why the fetch stopped); the rules judge.

The fetch uses aiohttp (already a dependency of textual-serve, so it costs nothing to install)
rather than urllib, because it is asynchronous — the fetch runs beside the SMTP probes on the same
event loop — and because it lets the host name be resolved by us: the web server's name is looked
up through the diagnosis's own resolver (``--resolver``, the lab), never the system's, and the
connection goes only to the addresses found there, pinned by a resolver that knows nothing else.
The response is never decompressed (a small compressed body must not grow past the limit) and is
read no further than the limit. Proxies from the environment are not used (``trust_env=False``):
a diagnosis talks to the server itself.

The policy file is looked for even when there is no TXT record, because a policy published
without its record is a common half-finished setup that senders silently ignore.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from mxwizard import __version__
from mxwizard.core.settings import Settings
from mxwizard.probes.dns import DnsClient, Lookup, Outcome
from mxwizard.probes.mta_sts_policy import StsPolicy, StsRecord, parse_policy, parse_sts_record
from mxwizard.probes.public_ip import Scope, address_scope

#: Senders read at most this much of a policy (RFC 8461 §3.3 suggests 64 KB).
MAX_POLICY_BYTES = 64 * 1024
POLICY_PATH = "/.well-known/mta-sts.txt"
#: Addresses of the policy host tried at most (real hosts have one to four).
MAX_ADDRESSES = 4
#: The fetch's time limit in ``--timeout`` units: connect and TLS, then the answer.
FETCH_TIMEOUTS = 2


class FetchOutcome(str, Enum):
    """How the policy fetch ended, in the words the rules need to say what to fix."""

    OK = "ok"  # 200 and a body within the limit
    NO_HOST = "no host"  # mta-sts.DOMAIN has no address (or only private ones)
    DNS_FAILED = "dns failed"  # the address lookups got no usable answer
    CONNECT_FAILED = "connect failed"  # refused, unreachable
    TIMEOUT = "timeout"
    CERTIFICATE = "certificate"  # the web server's certificate does not verify
    TLS_FAILED = "tls failed"  # the handshake failed for another reason
    REDIRECT = "redirect"  # a 3xx: senders do not follow it
    HTTP_STATUS = "http status"  # any other status than 200
    TOO_LARGE = "too large"
    ERROR = "error"  # anything else (a malformed HTTP answer)


@dataclass(frozen=True)
class PolicyFetch:
    """One fetch of the policy file and what came of it."""

    host: str
    url: str
    outcome: FetchOutcome
    addresses: tuple[str, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    status: int | None = None
    content_type: str = ""
    location: str = ""
    body: bytes = b""
    #: The reason in words when the fetch did not succeed (certificate error, socket error).
    error: str = ""
    ms: float = 0.0


@dataclass(frozen=True)
class MtaStsFacts:
    """What a sender would find for ``domain``: the TXT record(s), the fetch and the policy."""

    domain: str
    txt: Lookup
    #: The TXT strings that begin with ``v=STSv1`` (the candidates; more than one means none).
    records: tuple[str, ...] = ()
    #: The record, parsed, when there is exactly one.
    record: StsRecord | None = None
    fetch: PolicyFetch | None = None
    #: The policy, parsed, when the fetch got one.
    policy: StsPolicy | None = None
    #: Other TXT strings at the name (ignored by senders; shown as evidence).
    other_texts: tuple[str, ...] = field(default=())


class _PinnedResolver:
    """aiohttp's resolver for one host name: the addresses our own DNS lookups found, nothing
    else, so no name is ever looked up through the system's resolver."""

    def __init__(self, host: str, addresses: tuple[str, ...]) -> None:
        self._host = host.lower()
        self._addresses = addresses

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[dict[str, Any]]:
        if host.lower().rstrip(".") != self._host:
            raise OSError(f"{host[:80]} is not the MTA-STS host being checked")
        out = []
        for ip in self._addresses:
            version = ipaddress.ip_address(ip).version
            fam = socket.AF_INET6 if version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, fam):
                continue
            out.append({"hostname": host, "host": ip, "port": port, "family": fam,
                        "proto": 0, "flags": socket.AI_NUMERICHOST})
        if not out:
            raise OSError(f"no address of the right family for {host[:80]}")
        return out

    async def close(self) -> None:
        return None


def https_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context: the system's trust store (SSL_CERT_FILE and SSL_CERT_DIR
    honoured by OpenSSL) plus ``ca_file``; the host name is checked, as senders must."""
    context = ssl.create_default_context()
    if ca_file:  # unusable: the certificate rules say so (smtp.ca-file-unusable)
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            context.load_verify_locations(cafile=ca_file)
    return context


def _reachable(lookups: tuple[Lookup, Lookup], settings: Settings) -> tuple[str, ...]:
    found = [str(v) for lookup in lookups for v in lookup.values()]
    public = [ip for ip in found if address_scope(ip, settings.own_networks) is Scope.PUBLIC]
    return tuple(dict.fromkeys(public))[:MAX_ADDRESSES]


async def _read_limited(response: Any) -> tuple[bytes, bool]:
    """The body, read no further than one byte past the limit; (body, too large)."""
    pieces: list[bytes] = []
    size = 0
    while size <= MAX_POLICY_BYTES:
        piece = await response.content.read(MAX_POLICY_BYTES + 1 - size)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    body = b"".join(pieces)
    return body[:MAX_POLICY_BYTES], size > MAX_POLICY_BYTES


def _import_aiohttp() -> None:
    """Import aiohttp (some 130 ms here), in a worker thread: on the event loop it would hold
    up every other probe of the diagnosis for that long."""
    import aiohttp  # noqa: F401  (deferred: only a receive check pays for importing it)


async def fetch_policy(dns: DnsClient, domain: str, settings: Settings,
                       slots: asyncio.Semaphore | None = None) -> PolicyFetch:
    """Fetch the policy of ``domain`` as a sender does; never raises for network trouble."""
    host = f"mta-sts.{domain}"
    port = settings.https_port
    url = f"https://{host}{'' if port == 443 else f':{port}'}{POLICY_PATH}"
    # aiohttp is imported and the trust store loaded in threads while the address lookups are
    # out: on the event loop, either would hold up every other probe of the diagnosis
    loading = asyncio.gather(asyncio.to_thread(_import_aiohttp),
                             asyncio.to_thread(https_context, settings.ca_file))
    lookups = await dns.addresses(host)
    _imported, context = await loading
    import aiohttp  # imported already (above): here only a name

    addresses = _reachable(lookups, settings)
    if not addresses:
        failed = all(lookup.outcome.is_failure for lookup in lookups)
        found = any(lookup.outcome is Outcome.ANSWER for lookup in lookups)
        return PolicyFetch(host, url, FetchOutcome.DNS_FAILED if failed else FetchOutcome.NO_HOST,
                           lookups=lookups,
                           error="only addresses senders cannot reach" if found else "")
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUTS * settings.timeout,
                                    connect=settings.timeout, sock_read=settings.timeout)
    source = settings.source_ip
    local = (source, 0) if source and all(
        ipaddress.ip_address(source).version == ipaddress.ip_address(a).version
        for a in addresses) else None
    connector = aiohttp.TCPConnector(resolver=_PinnedResolver(host, addresses),  # type: ignore[arg-type]
                                     ssl=context, use_dns_cache=False, force_close=True,
                                     limit=1, local_addr=local)
    started = time.monotonic()

    def ended(outcome: FetchOutcome, **known: Any) -> PolicyFetch:
        return PolicyFetch(host, url, outcome, addresses, lookups,
                           ms=(time.monotonic() - started) * 1000, **known)

    try:
        async with (slots or asyncio.Semaphore(1)), aiohttp.ClientSession(
                connector=connector, timeout=timeout, auto_decompress=False, trust_env=False,
                headers={"User-Agent": f"mxwizard/{__version__} (MTA-STS check)",
                         "Accept-Encoding": "identity"}) as session, \
                session.get(url, allow_redirects=False) as response:
            known: dict[str, Any] = {"status": response.status,
                                     "content_type": response.headers.get("Content-Type", "")[:200]}
            if 300 <= response.status < 400:
                return ended(FetchOutcome.REDIRECT,
                             location=response.headers.get("Location", "")[:300], **known)
            if response.status != 200:
                return ended(FetchOutcome.HTTP_STATUS, **known)
            length = response.content_length
            if length is not None and length > MAX_POLICY_BYTES:
                return ended(FetchOutcome.TOO_LARGE, error=f"Content-Length {length}", **known)
            body, too_large = await _read_limited(response)
            if too_large:
                return ended(FetchOutcome.TOO_LARGE, body=body, **known)
            return ended(FetchOutcome.OK, body=body, **known)
    except aiohttp.ClientConnectorCertificateError as exc:
        return ended(FetchOutcome.CERTIFICATE, error=str(exc.certificate_error)[:300])
    except (aiohttp.ClientConnectorSSLError, aiohttp.ClientSSLError) as exc:
        return ended(FetchOutcome.TLS_FAILED, error=str(exc)[:300])
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
        waited = time.monotonic() - started
        return ended(FetchOutcome.TIMEOUT, error=f"no complete answer after {waited:.0f} s")
    except aiohttp.ClientConnectorError as exc:
        return ended(FetchOutcome.CONNECT_FAILED, error=str(exc.os_error or exc)[:300])
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return ended(FetchOutcome.ERROR, error=f"{type(exc).__name__}: {str(exc)[:300]}")


async def mta_sts(dns: DnsClient, domain: str, settings: Settings,
                  slots: asyncio.Semaphore | None = None) -> MtaStsFacts:
    """The TXT record and the policy of ``domain``, fetched at the same time."""
    txt, fetch = await asyncio.gather(dns.query(f"_mta-sts.{domain}", "TXT"),
                                      fetch_policy(dns, domain, settings, slots))
    texts = txt.texts() if txt.outcome is Outcome.ANSWER else []
    records = tuple(t for t in texts if t.startswith("v=STSv1"))
    others = tuple(t for t in texts if not t.startswith("v=STSv1"))
    record = parse_sts_record(records[0]) if len(records) == 1 else None
    policy = parse_policy(fetch.body) if fetch.outcome is FetchOutcome.OK else None
    return MtaStsFacts(domain, txt, records, record, fetch, policy, others)
