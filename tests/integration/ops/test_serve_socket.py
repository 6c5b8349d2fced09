"""The service's listening socket: answers on a kept-alive connection are not held back.

Without TCP_NODELAY on accepted connections, a response written in two parts waits for the
client's delayed ACK (~40 ms on Linux) on every request of a kept-alive connection. asyncio
sets it only when the listening socket says IPPROTO_TCP; uvloop sets it itself. Checked on
both event loops, on the socket ``bot.serve`` binds, as uvicorn serves it (``sock=``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
import uvloop

from bot.serve import _bind


async def _nodelay_of_an_accepted_connection() -> int:
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.listen()
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        result = await asyncio.wait_for(accepted, 5)
        writer.close()
        return result
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_accepted_connections_send_at_once(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(_nodelay_of_an_accepted_connection()) != 0
