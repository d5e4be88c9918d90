"""Is a host there at all? A bare TCP connect to another port, to tell a filtered SMTP port apart
from a host that is down.

When every connection to port 25 times out, the question is whether the hosts are gone or port 25
is filtered on the way (most often by the user's own ISP). A host that answers on another port —
even with a refusal, which proves something is there — while port 25 stays silent points to
filtering.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno

#: Ports tried when the SMTP port times out: submission and HTTPS are open on many mail hosts,
#: and a refusal from them still proves the host is reachable.
OTHER_PORTS = (587, 443)


async def tcp_answer(ip: str, port: int, timeout: float, source_ip: str | None = None) -> str:
    """``connected``, ``refused``, ``timeout``, ``unreachable`` or ``error`` — never raises."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(ip, port, local_addr=(source_ip, 0) if source_ip else None),
            timeout,
        )
    except asyncio.TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        return "error"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "connected"


async def other_ports(ip: str, timeout: float, source_ip: str | None = None) -> dict[int, str]:
    """What the host says on :data:`OTHER_PORTS`, asked at the same time."""
    answers = await asyncio.gather(*(tcp_answer(ip, p, timeout, source_ip) for p in OTHER_PORTS))
    return dict(zip(OTHER_PORTS, answers, strict=True))
