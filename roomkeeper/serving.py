"""Run ASGI apps with uvicorn on a pre-bound socket, in this loop or in a thread of their own.

Binding the socket first gives the real port when port 0 is asked for, so tests never assume a port
is free; the same helper lets ``roomkeeper dev`` run several servers in one process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import uvicorn


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket for uvicorn (port 0: any free port)."""
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on connections of sockets whose
    # protocol says TCP, and with Nagle on, every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _config(app: Any, **kwargs: Any) -> uvicorn.Config:
    kwargs.setdefault("log_level", "warning")
    kwargs.setdefault("access_log", False)
    kwargs.setdefault("lifespan", "on")
    return uvicorn.Config(app, **kwargs)


@dataclass
class ThreadedServer:
    """A uvicorn server running in a daemon thread; ``url`` is its loopback base URL."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"server at {self.url} did not stop within {timeout}s")


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> ThreadedServer:
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, **kwargs))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    pause = threading.Event()
    while not server.started and thread.is_alive():
        pause.wait(0.01)
    if not server.started:
        raise RuntimeError("server thread exited before it started")
    actual_port = sock.getsockname()[1]
    return ThreadedServer(server, thread, f"http://{host}:{actual_port}")


async def serve(app: Any, sock: socket.socket, **kwargs: Any) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Start serving ``app`` on ``sock`` in the running loop; stop it with ``server.should_exit = True``
    and await the returned task."""
    server = uvicorn.Server(_config(app, **kwargs))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited before it started")
        await asyncio.sleep(0.01)
    return server, task


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` in a new event loop; SIGTERM or SIGINT sets ``stop`` for a graceful exit."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await main(stop)

    asyncio.run(runner())


def exit_after(run: Callable[[], object]) -> NoReturn:
    """Run a process's main part, then leave with its exit status, skipping interpreter finalisation.

    A ``SystemExit`` with a message prints it and exits 1. The Temporal SDK can crash in interpreter
    finalisation (sdk-python#300); everything has stopped by the time ``run`` returns.
    """
    code: int | str | None = 0
    try:
        run()
    except SystemExit as error:
        code = error.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
