"""``is_valid_signature`` agrees with twilio-python's own ``RequestValidator``: signatures it makes are
accepted with or without the default port, and nothing received makes the check raise."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from twilio_video.signature import compute_signature, default_port_forms, is_valid_signature

TOKEN = "token"
validator = RequestValidator(TOKEN)
PARAMS = {"StatusCallbackEvent": "room-created", "RoomName": "Zürich standup", "a": "", "B": "1"}

# (URL Twilio signed, URL the gateway reconstructs): the same resource, one with the default port.
PORT_FORMS = [
    ("https://rooms.example.com/twilio/status/m-1", "https://rooms.example.com:443/twilio/status/m-1"),
    ("https://rooms.example.com:443/twilio/status/m-1", "https://rooms.example.com/twilio/status/m-1"),
    (
        "http://rooms.example.com/twilio/status/a%2Fb?x=1",
        "http://rooms.example.com:80/twilio/status/a%2Fb?x=1",
    ),
    ("http://rooms.example.com:80/twilio/status/a%2Fb", "http://rooms.example.com/twilio/status/a%2Fb"),
]


@pytest.mark.parametrize(("signed", "checked"), PORT_FORMS)
def test_a_signature_from_twilio_python_is_accepted_with_or_without_the_default_port(
    signed: str, checked: str
) -> None:
    signature = validator.compute_signature(signed, PARAMS)
    assert validator.validate(checked, PARAMS, signature), "twilio-python itself accepts this pair"
    assert is_valid_signature(TOKEN, checked, PARAMS, signature)
    assert is_valid_signature(TOKEN, signed, PARAMS, signature)
    assert not is_valid_signature("other-token", checked, PARAMS, signature)
    assert not is_valid_signature(TOKEN, checked, PARAMS | {"RoomName": "Bern"}, signature)


def test_get_callbacks_are_signed_over_the_url_alone_in_either_port_form() -> None:
    url = "https://rooms.example.com/twilio/status/m-1?StatusCallbackEvent=room-created&RoomSid=RM1"
    signature = validator.compute_signature(url, {})
    assert is_valid_signature(TOKEN, url.replace(".com/", ".com:443/"), None, signature)


@pytest.mark.parametrize(
    "other",
    [
        "https://rooms.example.com:8443/twilio/status/m-1",  # another port is another server
        "http://rooms.example.com/twilio/status/m-1",  # another scheme
        "https://rooms.example.com:80/twilio/status/m-1",  # http's default port is not https's
        "https://rooms.example.com/twilio/status/m-2",
        "https://rooms.example.com/twilio/status/m-1?x=1",
    ],
)
def test_only_the_default_port_is_optional(other: str) -> None:
    signature = validator.compute_signature("https://rooms.example.com/twilio/status/m-1", PARAMS)
    assert not is_valid_signature(TOKEN, other, PARAMS, signature)


def test_a_non_default_port_is_never_stripped_unlike_twilio_python() -> None:
    # twilio-python's remove_port drops any port; that would let a signature made for the service on
    # :443 authorise requests to another one on :8443 of the same host, so this check does not.
    signature = validator.compute_signature("https://rooms.example.com/twilio/status/m-1", PARAMS)
    assert validator.validate("https://rooms.example.com:8443/twilio/status/m-1", PARAMS, signature)
    assert not is_valid_signature(
        TOKEN, "https://rooms.example.com:8443/twilio/status/m-1", PARAMS, signature
    )


def test_ipv6_hosts_keep_their_brackets() -> None:
    # twilio-python's split(":") mangles "[::1]:80"; here only the port itself comes and goes.
    signature = validator.compute_signature("http://[::1]/twilio/status/m", PARAMS)
    assert is_valid_signature(TOKEN, "http://[::1]:80/twilio/status/m", PARAMS, signature)
    assert default_port_forms("http://[::1]:80/x") == ["http://[::1]:80/x", "http://[::1]/x"]


def test_the_url_is_otherwise_used_byte_for_byte() -> None:
    assert default_port_forms("https://h.example/twilio/status/a%2Fb%3A%20c?q=%7e") == [
        "https://h.example/twilio/status/a%2Fb%3A%20c?q=%7e",
        "https://h.example:443/twilio/status/a%2Fb%3A%20c?q=%7e",
    ]
    assert default_port_forms("http://u:p@h.example:80/x") == [
        "http://u:p@h.example:80/x",
        "http://u:p@h.example/x",
    ]
    for unchanged in [
        "http://h.example:8000/x",
        "ftp://h.example/x",
        "http://h.example:/x",
        "http://h:99999/x",
        "x",
    ]:
        assert default_port_forms(unchanged) == [unchanged]


def test_repeated_identical_pairs_are_accepted_counted_once_or_every_time() -> None:
    url = "https://rooms.example.com/twilio/status/m-1"
    pairs = [("a", "1"), ("a", "1"), ("a", "0"), ("b", "2")]

    class MultiDict(dict):  # the shape twilio-python reads repeated names from (Flask's getall)
        def getall(self, name: str) -> list[str]:
            return [value for key, value in pairs if key == name]

    by_twilio_python = validator.compute_signature(url, MultiDict(pairs))
    assert by_twilio_python != compute_signature(TOKEN, url, pairs), "the two readings differ"
    assert is_valid_signature(TOKEN, url, pairs, by_twilio_python)
    assert is_valid_signature(TOKEN, url, pairs, compute_signature(TOKEN, url, pairs))
    assert not is_valid_signature(TOKEN, url, [("a", "1"), ("b", "2")], by_twilio_python)


@pytest.mark.parametrize(
    "signature", ["", "é" * 28, "L/OH5YylLD5NRKLltdqwSvS0Bn\u00fc=", "\x00" * 28, "\ud800"]
)
def test_odd_signatures_are_just_wrong(signature: str) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII str; the check must answer False instead.
    assert is_valid_signature(TOKEN, "https://rooms.example.com/x", PARAMS, signature) is False
