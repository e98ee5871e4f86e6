"""The pure parts of lifecycle events and extend caps: signatures checked by the convention's own
library, which receivers the deployment signs for, and which cap an extension breaks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.event_endpoints import EndpointsError, EventEndpoints, Route
from common.extend_policy import DeploymentCaps, ExtendPolicy, caps_for, refusal
from common.standard_webhooks import SecretError, key_of, new_secret, secrets_of, signature

NOW = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)


def headers(message_id: str, timestamp: int, signed: str) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signed}


def test_a_signature_verifies_with_the_standard_webhooks_library_and_a_rotation_signs_twice() -> None:
    old, new = new_secret(), new_secret()
    body = json.dumps({"type": "meeting.ended", "data": {"title": "Réunion ☕"}}, ensure_ascii=False).encode()
    now = int(datetime.now(UTC).timestamp())
    one = signature([old], "msg_1", now, body)
    assert Webhook(old).verify(body, headers("msg_1", now, one))["data"]["title"] == "Réunion ☕"
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body, headers("msg_1", now, one))
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(old).verify(body, headers("msg_2", now, one))
    both = signature([new, old], "msg_1", now, body)
    assert len(both.split(" ")) == 2
    for secret in (old, new):  # during a rotation, receivers on either secret accept
        Webhook(secret).verify(body, headers("msg_1", now, both))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "no signing secret given"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a signing secret starts with 'whsec_'"),
        ("whsec_not base64!", "a signing secret is 'whsec_' followed by base64"),
        ("whsec_c2hvcnQ=", "a signing secret's key is 24 to 64 bytes long"),
    ],
)
def test_bad_secrets_are_named_without_their_value(value: str, message: str) -> None:
    with pytest.raises(SecretError) as raised:
        secrets_of(value)
    assert str(raised.value) == message
    assert len(key_of(new_secret())) == 32


def test_the_default_secret_signs_for_its_origin_only_and_listed_receivers_for_their_prefix(
    tmp_path: Path,
) -> None:
    listed = tmp_path / "endpoints.json"
    other = new_secret()
    listed.write_text(json.dumps({"https://b.example/hooks/": other, "https://c.example/only": other}))
    default = new_secret()
    endpoints = EventEndpoints.load("https://app.example/hooks/roomkeeper", default, listed)

    assert endpoints.route(None).url == "https://app.example/hooks/roomkeeper"
    assert endpoints.secrets_for("https://app.example/other/path") == (default,)
    assert endpoints.secrets_for("https://app.example:443/x") == (default,)
    for elsewhere in (
        "http://app.example/hooks/roomkeeper",  # another scheme is another origin
        "https://app.example:8443/hooks",  # another port
        "https://app.example.evil.net/hooks",  # a longer host
        "https://user:pw@app.example/hooks",  # user info could smuggle another meaning
        "https://b.example/other",  # outside the listed prefix
        "https://c.example/only-not",  # a prefix without "/" covers its path and below only
    ):
        assert endpoints.secrets_for(elsewhere) is None, elsewhere
    assert endpoints.secrets_for("https://b.example/hooks/standup") == (other,)
    assert endpoints.secrets_for("https://c.example/only/sub") == (other,)
    refused = endpoints.route("https://evil.example/collect?token=abc")
    assert refused.url is None and refused.why is not None
    assert refused.why.startswith("no signing secret for https://evil.example/collect?…")
    assert "abc" not in refused.why
    assert EventEndpoints().route(None) == Route(None, None)  # nothing asked, nothing configured
    assert EventEndpoints.load(None, None, None).route("https://a.example/", enabled=False).url is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", 'must hold an object {"<URL prefix>": "<whsec_ secret>", ...}'),
        ("{nope", "is not JSON"),
        ('{"ftp://x.example/": "whsec_"}', "key 'ftp://x.example/' must be an http:// or https:// URL"),
        ('{"https://x.example/": 7}', "the value for https://x.example/ must be a string of whsec_ secrets"),
    ],
)
def test_a_bad_endpoints_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    listed = tmp_path / "endpoints.json"
    listed.write_text(content)
    with pytest.raises(EndpointsError) as raised:
        EventEndpoints.load(None, None, listed)
    assert message in str(raised.value) and str(raised.value).startswith("ROOMKEEPER_EVENTS_ENDPOINTS: ")


def test_the_stricter_cap_decides_and_is_named() -> None:
    planned = NOW + timedelta(minutes=30)
    meeting = ExtendPolicy(max_minutes=20, max_extensions=3, latest_end=planned + timedelta(hours=2))
    deployment = DeploymentCaps(max_minutes=30, max_extensions=2, max_total_minutes=60)
    caps = caps_for(meeting, deployment, planned)
    assert (caps.max_minutes, caps.max_extensions, caps.latest_end) == (20, 2, planned + timedelta(hours=1))

    def why(minutes: int, so_far: int = 0) -> str | None:
        return refusal(
            caps, minutes=minutes, new_end=planned + timedelta(minutes=minutes), extensions_so_far=so_far
        )

    assert why(20) is None
    assert why(21) == "extend_policy.max_minutes: an extension may add at most 20 min; 21 min was asked"
    assert why(5, so_far=2) == (
        "ROOMKEEPER_EXTEND_MAX_COUNT: the meeting allows at most 2 extension(s), and has had 2"
    )
    late = refusal(caps, minutes=10, new_end=planned + timedelta(minutes=61), extensions_so_far=1)
    assert late is not None
    assert late.startswith("ROOMKEEPER_EXTEND_MAX_TOTAL_MINUTES (60 min past the planned end ")
    none = caps_for(ExtendPolicy(max_extensions=0), None, planned)
    assert refusal(none, minutes=1, new_end=planned, extensions_so_far=0) == (
        "extend_policy.max_extensions: the meeting allows no extensions, and has had 0"
    )
    assert refusal(caps_for(None, None, planned), minutes=1440, new_end=planned, extensions_so_far=99) is None
