"""How the emulator is served and rendered fast: each response written at once, rooms rendered once per
change. Both must be invisible on the wire: the same bytes, in the same order."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

from emulator.app import EmulatorConfig, create_app
from emulator.clock import ManualClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from emulator.forms import parse_form
from emulator.render import page_json, render_room, room_json
from emulator.room_options import parse_room_options
from emulator.serving import _GatheringTransport
from tests.support import RunningEmulator
from twilio_video.models import PageMeta, RoomPage

AUTH = base64.b64encode(f"{TEST_ACCOUNT_SID}:{TEST_AUTH_TOKEN}".encode()).decode()


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"extra:{name}"


async def test_writes_of_one_step_go_out_as_one() -> None:
    real = _Recorder()
    transport = _GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"next"]
    assert transport.get_extra_info("peername") == "extra:peername"


async def test_close_writes_what_is_gathered_first() -> None:
    real = _Recorder()
    transport = _GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"head")
    transport.write(b"{")
    transport.close()
    assert real.writes == [b"head{"] and real.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left, and writes nothing on a closed one
    assert real.writes == [b"head{"]


def _request(method: str, path: str, body: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {AUTH}\r\n"
    if method == "POST":
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n" + body).encode()


def _read_responses(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    data = b""
    responses: list[tuple[bytes, bytes]] = []
    while len(responses) < count:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(responses)} responses"
        data += chunk
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(rest) < length:
                break
            responses.append((head, rest[:length]))
            data = rest[length:]
    return responses


def test_pipelined_requests_are_answered_in_order(emulator: RunningEmulator) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            _request("POST", "/v1/Rooms", "UniqueName=piped")
            + _request("GET", "/v1/Rooms/piped")
            + _request("POST", "/v1/Rooms/piped", "Status=completed")
        )
        (created, _), (fetched, fetched_body), (completed, completed_body) = _read_responses(sock, 3)
    assert created.startswith(b"HTTP/1.1 201")
    assert fetched.startswith(b"HTTP/1.1 200") and b'"status":"in-progress"' in fetched_body
    assert completed.startswith(b"HTTP/1.1 202") and b'"status":"completed"' in completed_body


def test_a_room_is_rendered_again_when_it_changes() -> None:
    clock = ManualClock()
    app = create_app(EmulatorConfig(clock=clock, rate_limits=False))
    world = app.state.emulator.world
    rooms = [
        world.create_room(parse_room_options(parse_form(f"UniqueName=r{i}&Type=go".encode())))
        for i in range(3)
    ]
    meta = PageMeta(
        page=0,
        page_size=50,
        first_page_url="f",
        previous_page_url=None,
        url="u",
        next_page_url=None,
        key="rooms",
    )

    def both() -> tuple[bytes, bytes]:
        fast = page_json(meta, [room_json(room, "http://h") for room in rooms])
        slow = RoomPage(rooms=[render_room(room, "http://h") for room in rooms], meta=meta).model_dump_json()
        return fast, slow.encode()

    fast, slow = both()
    assert fast == slow
    # Completed with the clock stopped: date_updated does not move, the status and end_time do.
    world.complete_room("r1", "completed")
    fast, slow = both()
    assert fast == slow and fast.count(b'"status":"completed"') == 1
    assert (
        room_json(rooms[0], "http://other")
        == render_room(rooms[0], "http://other").model_dump_json().encode()
    )
    assert page_json(meta, []) == RoomPage(rooms=[], meta=meta).model_dump_json().encode()
