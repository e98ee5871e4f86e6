"""Every workflow id ``status_callback_url`` can build comes back out of the URL unchanged."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import httpx
import pytest

from common.status_callback import (
    PATH_PREFIX,
    BadCallbackPath,
    owner_of,
    status_callback_url,
    workflow_id_in_path,
)

#: Ids chosen for the characters URLs treat specially, and non-ASCII of every UTF-8 length.
IDS = [
    "meeting-standup",
    "meeting-a/b: c@d",
    "a/b",
    "/",
    "//",
    "a%2Fb",  # a literal "%2F" in the id, not a slash
    "%",
    "100%",
    "%%25",
    "a:b",
    "user@example.com",
    "with space",
    "+plus+",
    "q?x=1&y=2",
    "frag#ment",
    "semi;colon,comma",
    "[brackets]",
    "tab\tnew\nline\rcr",
    "\x00nul",
    "quote\"'`",
    "back\\slash",
    ".",
    "..",
    "...",
    "./..",
    "~tilde_under-score.dot",
    "Zürich",
    "会议-東京",
    "emoji-🎉",
    "\u2028line-separator\u0085",
    "\ufeffbom",
    PATH_PREFIX,
    "https://evil.example/twilio/status/other",
    "x" * 1000,
]


def random_ids(count: int) -> list[str]:
    """Random ids over a mix of ASCII, URL delimiters and non-ASCII (no lone surrogates: not text)."""
    rng = random.Random(20261125)
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + list("\t\n%/:@ é€😀\u2028")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(count)]


PUBLIC_URLS = ["https://rooms.example.com", "http://127.0.0.1:8000/", "https://h.example/base"]


def assert_round_trip(workflow_id: str) -> None:
    for public_url in PUBLIC_URLS:
        url = status_callback_url(public_url, workflow_id)
        assert owner_of(url) == workflow_id, url
        path = urlsplit(url).path
        assert "/" not in path.rsplit(PATH_PREFIX, 1)[1], "the id must be a single path segment"
        assert workflow_id_in_path(path) == workflow_id
        assert url.isascii() and not any(c in url for c in ' \t\r\n"<>\\^`{|}'), url


@pytest.mark.parametrize("workflow_id", IDS)
def test_owner_of_round_trips_awkward_ids(workflow_id: str) -> None:
    assert_round_trip(workflow_id)


def test_owner_of_round_trips_random_ids() -> None:
    for workflow_id in random_ids(2000):
        assert_round_trip(workflow_id)


@pytest.mark.parametrize("workflow_id", [".", "..", "a/..", "meeting-a/b: c@d"])
def test_clients_send_the_url_unchanged(workflow_id: str) -> None:
    # httpx (like most clients) removes "." and ".." segments; those ids are sent as %2E and %2E%2E.
    url = status_callback_url("https://rooms.example.com", workflow_id)
    assert httpx.URL(url).raw_path.decode() == urlsplit(url).path
    assert owner_of(str(httpx.URL(url))) == workflow_id


def test_empty_ids_and_ids_that_are_not_text_are_refused() -> None:
    with pytest.raises(ValueError, match="never empty"):
        status_callback_url("https://rooms.example.com", "")
    with pytest.raises(ValueError, match="not valid Unicode"):
        status_callback_url("https://rooms.example.com", "lone-\ud800")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (None, None),
        ("", None),
        ("https://rooms.example.com/elsewhere/m-1", "does not contain"),
        ("https://rooms.example.com/twilio/status/", "no workflow id"),
        ("https://rooms.example.com/twilio/status/a/b", "literal '/'"),
        ("https://rooms.example.com/twilio/status/%FF%FE", "not UTF-8"),
        ("https://rooms.example.com/twilio/status/%C3", "not UTF-8"),
        ("http://[::1/twilio/status/m-1", None),  # urlsplit raises ValueError on this
    ],
)
def test_urls_that_name_no_workflow(url: str | None, reason: str | None) -> None:
    assert owner_of(url) is None
    if reason is not None:
        assert url is not None
        with pytest.raises(BadCallbackPath, match=reason):
            workflow_id_in_path(urlsplit(url).path)


def test_paths_are_read_leniently_where_no_id_is_ambiguous() -> None:
    # Escapes of unreserved characters, lowercase hex and a stray "%" all decode to one id.
    assert workflow_id_in_path("/twilio/status/meeting%2dx") == "meeting-x"
    assert workflow_id_in_path("/twilio/status/a%2fb") == "a/b"
    assert workflow_id_in_path("/twilio/status/100%") == "100%"
