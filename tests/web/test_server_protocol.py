"""``bargaining serve``'s HTTP protocol: Nagle's algorithm off on every connection, also on a
listening socket bound the way uvicorn's multi-worker supervisor binds it (``--workers`` > 1), on
the event loop it serves with (uvloop) and on asyncio's own."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import uvicorn
import uvloop

from services.web.server import LOOP, PROTOCOL


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _nodelay_of_a_served_connection(http: str) -> int:
    config = uvicorn.Config(_ok, host="127.0.0.1", port=0, http=http, lifespan="off", log_level="warning")
    config.load()
    listener = config.bind_socket()  # as uvicorn.supervisors' Multiprocess gets it
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        await writer.drain()
        await reader.readuntil(b"ok")
        (connection,) = server.server_state.connections
        sock = connection.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        writer.close()
        server.should_exit = True
        await serving


@pytest.mark.parametrize("run", [uvloop.run, asyncio.run], ids=["uvloop", "asyncio"])
def test_every_connection_has_tcp_nodelay_even_on_a_supervisor_bound_socket(run: Any) -> None:
    assert LOOP == "uvloop"  # what ``bargaining serve`` passes to uvicorn
    # In a thread of its own: another test (the browser's sync API) may leave a loop running here.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(run, _nodelay_of_a_served_connection(PROTOCOL)).result() == 1
