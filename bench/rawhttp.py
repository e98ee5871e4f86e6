"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load generation only.

httpx spends more CPU per request than the emulator does, so a benchmark driven by it measures httpx.
This client does just enough: one connection, requests in sequence, Content-Length bodies.
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlencode


class RawConnection:
    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        self._host, self._port = host, port
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._common = f"Host: {host}:{port}\r\nAuthorization: Basic {token}\r\nAccept: application/json\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawConnection:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._writer is not None:
            self._writer.close()

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        body = urlencode(form).encode() if form else b""
        head = f"{method} {path} HTTP/1.1\r\n{self._common}"
        if method == "POST":
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + body)
        raw_head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(raw_head[9:12])
        length = 0
        for line in raw_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)
