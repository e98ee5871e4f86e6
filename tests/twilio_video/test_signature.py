from __future__ import annotations

from twilio.request_validator import RequestValidator

from twilio_video.signature import compute_signature, is_valid_signature

DOCS_URL = "https://example.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}


def test_twilio_documented_vector() -> None:
    assert compute_signature("12345", DOCS_URL, DOCS_PARAMS) == "L/OH5YylLD5NRKLltdqwSvS0BnU="


def test_agrees_with_the_official_validator_on_unicode_and_case_order() -> None:
    params = {"b": "2", "B": "1", "RoomName": "Zürich standup", "a": ""}
    signature = compute_signature("token", "http://127.0.0.1:8000/twilio/status/m-1", params)
    assert RequestValidator("token").validate("http://127.0.0.1:8000/twilio/status/m-1", params, signature)
    assert is_valid_signature("token", "http://127.0.0.1:8000/twilio/status/m-1", params, signature)
    assert not is_valid_signature("other", "http://127.0.0.1:8000/twilio/status/m-1", params, signature)
    tampered = params | {"RoomName": "Bern"}
    assert not is_valid_signature("token", "http://127.0.0.1:8000/twilio/status/m-1", tampered, signature)
