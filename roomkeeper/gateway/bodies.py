"""What every gateway route shares: a refusal answered as ``{"error": ...}``, a bounded body read, and
request-derived text clipped before it is quoted in a message or log line."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

#: How much of a request-derived text (a URL, an id) a message or log line quotes.
_SHOWN = 200


def clip(text: str) -> str:
    """``text``, cut short if long: a refusal's message and log line stay small whatever was sent."""
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


class Refused(Exception):
    """A request the gateway answers with a 4xx; ``message`` says what is wrong."""

    def __init__(self, status_code: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        #: Close the connection after answering, so the rest of an oversized body is never read.
        self.close = close

    def response(self) -> JSONResponse:
        headers = {"Connection": "close"} if self.close else None
        return JSONResponse({"error": self.message}, status_code=self.status_code, headers=headers)


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes.

    ``Content-Length`` is checked before reading anything; the streamed body is counted too, because a
    chunked body has no length and a declared one need not be the truth.
    """
    declared = request.headers.getlist("content-length")
    if declared:
        value = declared[0].strip()
        if len(declared) > 1 or not (value.isascii() and value.isdigit()):
            raise Refused(400, "Content-Length is not a single whole number")
        # The digit count first: int() of a huge string is slow and, past 4300 digits, an error.
        if len(value.lstrip("0")) > len(str(limit)) or int(value) > limit:
            shown = value if len(value) <= 20 else value[:20] + "…"
            raise Refused(413, f"Content-Length is {shown}; the limit is {limit} bytes", close=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the body is longer than the limit of {limit} bytes", close=True)
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "the client disconnected before sending the whole body") from None
    return b"".join(chunks)
