"""Fetch a feed: over HTTP(S) with a conditional request, or from a local file.

Bounded in every direction a remote server controls: a total timeout, a size cap (checked on
``Content-Length`` and again while streaming), a redirect limit, and only ``http``/``https``/``file``.
``ETag`` and ``Last-Modified`` from the previous fetch make an unchanged feed cost one ``304``.

A feed's address is often a secret (Google's "secret address in iCal format"): it is never put in an
error message or log line whole, only ``redacted(url)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from email.utils import formatdate
from pathlib import Path
from stat import S_ISREG
from urllib.parse import SplitResult, unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from calendar_feeds.models import FeedError, Validators
from calendar_feeds.occurrences import MAX_FEED_BYTES

#: Seconds a whole fetch may take.
FETCH_TIMEOUT = 30.0
#: Redirects followed (Google and Outlook use one or two).
MAX_REDIRECTS = 5
USER_AGENT = "roomkeeper-calendar-sync (+https://github.com/roomkeeper)"


class Fetched(BaseModel):
    """A fetch's outcome: ``data`` is None when the feed has not changed since ``Validators``."""

    model_config = ConfigDict(frozen=True)

    data: bytes | None
    validators: Validators
    #: The HTTP status (200, 304), or 0 for a file.
    status: int


def http_client() -> httpx.AsyncClient:
    """The client ``fetch`` expects: bounded redirects, no cookies kept between feeds."""
    return httpx.AsyncClient(max_redirects=MAX_REDIRECTS, timeout=FETCH_TIMEOUT, trust_env=False)


def redacted(url: str) -> str:
    """``url`` fit to show: scheme, host and port, and the path's last segment cut short; no query, no
    user info (a secret address hides its secret in the path, the query or the user info)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "webcal"):
        host = (parts.hostname or "") + (f":{parts.port}" if _port(parts) else "")
        tail = parts.path.rsplit("/", 1)[-1]
        shown = tail if len(tail) <= 12 else tail[:4] + "…"
        return f"{parts.scheme}://{host}/…/{shown}" + ("?…" if parts.query else "")
    return url


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # not a number: shown as no port, and refused when fetched
        return None


def validate_source(source: str) -> str:
    """``source`` if it is an http(s) URL, a ``file://`` URL or an absolute path; ``FeedError`` if not."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise FeedError(f"the address {parts.scheme}://… has no host")
        return source
    if parts.scheme == "webcal":  # Apple's and Outlook's name for an https feed
        return "https" + source[len("webcal") :]
    if parts.scheme == "file" or (not parts.scheme and source.startswith("/")):
        return source
    raise FeedError(
        "a feed is an http(s):// or webcal:// address, a file:// URL or an absolute path; "
        f"got {source[:40]!r}"
    )


async def fetch(
    source: str,
    previous: Validators,
    http: httpx.AsyncClient,
    *,
    max_bytes: int = MAX_FEED_BYTES,
    time_limit: float = FETCH_TIMEOUT,
) -> Fetched:
    """The feed's current bytes, or ``data=None`` when unchanged. Raises ``FeedError``."""
    source = validate_source(source)
    if not source.startswith(("http://", "https://")):
        # In a thread: a read blocks, and a slow disk or network mount must not stall the event loop.
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(_read_file, source, previous, max_bytes), time_limit
            )
        except TimeoutError:
            raise FeedError(f"reading {source} took longer than {time_limit:g} s") from None
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    where = redacted(source)
    try:
        async with (
            asyncio.timeout(time_limit),
            http.stream(
                "GET",
                source,
                headers=headers,
                follow_redirects=True,
                timeout=httpx.Timeout(time_limit),
            ) as response,
        ):
            if response.status_code == 304:
                return Fetched(data=None, validators=previous, status=304)
            if response.status_code != 200:
                raise FeedError(f"{where} answered HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedError(f"{where} is {declared} bytes; the limit is {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"{where} is longer than the limit of {max_bytes} bytes")
            validators = Validators(
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                digest=hashlib.sha256(body).hexdigest(),
            )
    except httpx.TooManyRedirects:
        raise FeedError(f"{where} redirected more than {MAX_REDIRECTS} times") from None
    except (httpx.TimeoutException, TimeoutError):
        # httpx's timeouts bound each read; asyncio's bounds the whole fetch (a server that trickles).
        raise FeedError(f"{where} did not answer within {time_limit:g} s") from None
    except httpx.HTTPError as error:
        raise FeedError(f"cannot fetch {where}: {type(error).__name__}") from None
    if validators.digest == previous.digest:
        return Fetched(data=None, validators=validators, status=200)
    return Fetched(data=bytes(body), validators=validators, status=200)


def _read_file(source: str, previous: Validators, max_bytes: int) -> Fetched:
    path = Path(unquote(urlsplit(source).path) if source.startswith("file:") else source)
    try:
        # O_NONBLOCK: opening a named pipe would otherwise wait for a writer forever. Only a regular
        # file is a feed (not a pipe, a device such as /dev/zero, or a directory).
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            stat = os.fstat(file.fileno())
            if not S_ISREG(stat.st_mode):
                raise FeedError(f"{path} is not a regular file")
            if stat.st_size > max_bytes:
                raise FeedError(f"{path} is {stat.st_size} bytes; the limit is {max_bytes} bytes")
            # Compared by content, not modification time: a file rewritten within the same second (or
            # with its mtime preserved by a copy) must still count as changed; a local read is cheap.
            modified = formatdate(stat.st_mtime, usegmt=True)
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise FeedError(f"cannot read {path}: {os.strerror(error.errno or 0) or error}") from None
    if len(data) > max_bytes:
        raise FeedError(f"{path} is longer than the limit of {max_bytes} bytes")
    digest = hashlib.sha256(data).hexdigest()
    validators = Validators(last_modified=modified, digest=digest)
    if digest == previous.digest:
        return Fetched(data=None, validators=validators, status=0)
    return Fetched(data=data, validators=validators, status=0)
