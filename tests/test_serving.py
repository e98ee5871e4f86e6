"""The servers' listening sockets: Nagle off on every connection they accept.

With Nagle on, each keep-alive response waited for the peer's delayed ACK: 44 ms per request to the
emulator and the gateway, 1 ms after (measured with httpx on loopback).
"""

from __future__ import annotations

import asyncio
import socket

from roomkeeper.serving import bind


async def test_connections_accepted_on_our_sockets_have_nodelay() -> None:
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            nodelay.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listening = bind()
    server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
    try:
        _, writer = await asyncio.open_connection(*listening.getsockname())
        assert await asyncio.wait_for(nodelay, timeout=10) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
