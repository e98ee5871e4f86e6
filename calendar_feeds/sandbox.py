"""Expand a feed in a child process with a time and memory limit.

``occurrences.check_shape`` refuses what it can see cheaply, but whether a recurrence rule is slow to
expand (a daily rule from the year 1900 with a thousand BYxxx values) only shows by expanding it. A
thread cannot be stopped, so the expansion runs in its own Python process: killed after ``time_limit``
seconds, and limited to ``memory_bytes`` of address space, so a hostile feed costs one bounded child
and a clear ``FeedError``, never a stuck worker.

Run as ``python -m calendar_feeds.sandbox``: reads one JSON line (window start, options, limits) and then
the feed's bytes on stdin, writes one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from datetime import datetime
from typing import Any

from calendar_feeds.models import Expansion, FeedError, FeedOptions
from calendar_feeds.occurrences import expand

#: Wall-clock seconds an expansion may take (a 2,000-occurrence feed takes well under one).
DEFAULT_TIMEOUT = 20.0
#: Address space of the child: Python and the libraries need ~100 MiB; a feed is at most 5 MiB.
DEFAULT_MEMORY_BYTES = 768 * 1024 * 1024


async def expand_isolated(
    data: bytes,
    window_start: datetime,
    options: FeedOptions,
    *,
    time_limit: float = DEFAULT_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> Expansion:
    """``occurrences.expand`` in a child process. Raises ``FeedError`` (the feed's fault or a limit)."""
    header = json.dumps(
        {
            "window_start": window_start.isoformat(),
            "options": options.model_dump(mode="json"),
            "cpu_seconds": int(time_limit) + 1,
            "memory_bytes": memory_bytes,
        }
    ).encode()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "calendar_feeds.sandbox",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(header + b"\n" + data), time_limit)
    except TimeoutError:
        raise FeedError(
            f"expanding the feed took longer than {time_limit:g} s (a recurrence rule with too many "
            "instances?); nothing was changed"
        ) from None
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    try:
        answer = json.loads(out)
    except ValueError:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        if b"MemoryError" in err or child.returncode in (-9, -24):  # SIGKILL (OOM) / SIGXCPU
            raise FeedError(
                f"expanding the feed needed more than {memory_bytes // 2**20} MiB or too much CPU; "
                "nothing was changed"
            ) from None
        raise FeedError(f"expanding the feed failed: {tail[0][:300]}") from None
    if "error" in answer:
        raise FeedError(answer["error"])
    return Expansion.model_validate(answer["expansion"])


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    with contextlib.suppress(ValueError, OSError):  # some sandboxes forbid lowering RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _main() -> None:
    header = json.loads(sys.stdin.buffer.readline())
    _limit(header["cpu_seconds"], header["memory_bytes"])
    data = sys.stdin.buffer.read()
    answer: dict[str, Any]
    try:
        expansion = expand(
            data,
            datetime.fromisoformat(header["window_start"]),
            FeedOptions.model_validate(header["options"]),
        )
    except FeedError as error:
        answer = {"error": str(error)}
    except MemoryError:
        answer = {"error": f"the feed needs more than {header['memory_bytes'] // 2**20} MiB to expand"}
    else:
        answer = {"expansion": expansion.model_dump(mode="json")}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _main()
