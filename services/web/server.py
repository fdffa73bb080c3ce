"""How ``bargaining serve`` runs uvicorn: uvloop's event loop and httptools' HTTP parser (both C,
uvicorn's "standard" choice), with TCP_NODELAY on every connection.

With ``--workers`` > 1, uvicorn 0.54 binds the listening socket itself and leaves its ``proto`` at
0; accepted sockets inherit it, and asyncio only turns Nagle's algorithm off for sockets whose
``proto`` is ``IPPROTO_TCP``. Every keep-alive request after the first then waits ~40 ms for the
client's delayed ACK (uvicorn issue #3149): measured here, ``GET /healthz`` took 44 ms at the median
with two workers against under 1 ms with one. Setting the option on each connection fixes every
way the socket may have been made, on either event loop.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


PROTOCOL = f"{__name__}:{NoDelayHttpToolsProtocol.__name__}"  # uvicorn's ``http=`` (imported by each worker)
LOOP = "uvloop"  # uvicorn's ``loop=``
