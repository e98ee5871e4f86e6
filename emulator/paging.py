"""Twilio list paging: ``PageSize``/``Page``/``PageToken`` in, a ``meta`` envelope out.

Page tokens are cursors on creation order (``PA<seq>`` = after, ``PB<seq>`` = before), so paging stays
correct while rooms are created or completed between pages. Page URLs are built on the base URL the
request came in on, because the helper libraries follow ``next_page_url`` verbatim.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import urlencode

from emulator.errors import invalid
from emulator.forms import Form
from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import PageMeta


class Sequenced(Protocol):
    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=Sequenced)


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    page: int
    token: str | None

    @classmethod
    def from_query(cls, query: Form) -> PageRequest:
        size_raw = query.get("PageSize")
        page_raw = query.get("Page")
        try:
            size = int(size_raw) if size_raw is not None else limits.DEFAULT_PAGE_SIZE
        except ValueError:
            raise invalid(
                ErrorCode.INVALID_PARAMETER, f"PageSize={size_raw!r} is not a whole number"
            ) from None
        if not 1 <= size <= limits.MAX_PAGE_SIZE:
            raise invalid(
                ErrorCode.INVALID_PARAMETER, f"PageSize={size} must be from 1 to {limits.MAX_PAGE_SIZE}"
            )
        try:
            page = int(page_raw) if page_raw is not None else 0
        except ValueError:
            raise invalid(ErrorCode.INVALID_PARAMETER, f"Page={page_raw!r} is not a whole number") from None
        if page < 0:
            raise invalid(ErrorCode.INVALID_PARAMETER, f"Page={page} must not be negative")
        token = query.get("PageToken")
        if token is not None and not (token[:2] in ("PA", "PB") and token[2:].isdigit()):
            raise invalid(ErrorCode.INVALID_PARAMETER, f"PageToken={token!r} was not issued by this API")
        return cls(size, page, token)


def _seq(item: Sequenced) -> int:
    return item.seq


def paginate(items: Sequence[T], request: PageRequest) -> tuple[Sequence[T], str | None, str | None]:
    """The page's items, and the tokens of the next and previous pages (None at either end)."""
    size = request.page_size
    if request.token is None:
        start = min(request.page * size, len(items))
    elif request.token.startswith("PA"):
        start = bisect.bisect_right(items, int(request.token[2:]), key=_seq)
    else:
        start = max(0, bisect.bisect_left(items, int(request.token[2:]), key=_seq) - size)
    chunk = items[start : start + size]
    next_token = f"PA{chunk[-1].seq}" if chunk and start + size < len(items) else None
    previous_token = f"PB{chunk[0].seq}" if chunk and start > 0 else None
    return chunk, next_token, previous_token


def page_meta(
    *,
    base_url: str,
    path: str,
    key: str,
    filters: list[tuple[str, str]],
    request: PageRequest,
    next_token: str | None,
    previous_token: str | None,
) -> PageMeta:
    def url(page: int, token: str | None) -> str:
        query = [*filters, ("PageSize", str(request.page_size)), ("Page", str(page))]
        if token is not None:
            query.append(("PageToken", token))
        return f"{base_url}{path}?{urlencode(query)}"

    return PageMeta(
        page=request.page,
        page_size=request.page_size,
        first_page_url=url(0, None),
        previous_page_url=url(max(0, request.page - 1), previous_token) if previous_token else None,
        url=url(request.page, request.token),
        next_page_url=url(request.page + 1, next_token) if next_token else None,
        key=key,
    )
