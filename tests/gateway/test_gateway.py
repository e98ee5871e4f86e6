"""The gateway on a real server: every correctly signed callback is accepted, whatever the workflow id
and whichever port form Twilio signed; every hostile request gets a 4xx whose body says what is wrong."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.gateway.config import MAX_BODY_BYTES
from roomkeeper.logs import JsonFormatter, TextFormatter
from tests.gateway.harness import CONNECTED, Gateway, RawConnection, running_gateway
from twilio_video.signature import compute_signature

#: Ids with every character that broke routing or signatures: "/" (404 before), ":" "@" " " (403).
AWKWARD_IDS = [
    "meeting-a/b: c@d",
    "a/b",
    "a%2Fb",
    "100%",
    "user@example.com",
    "with space+plus",
    "q?x=1#frag",
    "Zürich 会议 🎉",
    "..",
    "line\nbreak",
]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with running_gateway() as running:
        yield running


def error(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.mark.parametrize("workflow_id", AWKWARD_IDS)
def test_signed_callbacks_reach_any_workflow_id(gateway: Gateway, workflow_id: str) -> None:
    posted = gateway.post(workflow_id, CONNECTED)
    assert posted.status_code == 202, posted.text
    assert posted.json() == {"signalled": workflow_id, "event": "participant-connected"}
    got = gateway.get(workflow_id, CONNECTED | {"SequenceNumber": "2"})
    assert got.status_code == 202, got.text
    assert gateway.signaller.ids() == [workflow_id, workflow_id]
    assert [event.sequence_number for _, event in gateway.signaller.signals] == [1, 2]


def test_the_signature_covers_the_encoded_path_not_the_decoded_one(gateway: Gateway) -> None:
    # Signed over the decoded path, as the gateway used to check: not what Twilio signs, so refused.
    decoded = f"{gateway.public_url}/twilio/status/meeting-a/b: c@d"
    response = gateway.post("meeting-a/b: c@d", CONNECTED, signed_url=decoded)
    assert response.status_code == 403
    assert "does not match a signature of " + gateway.callback_url("meeting-a/b: c@d") in error(response)
    assert gateway.signaller.signals == []


@pytest.mark.parametrize(
    ("public_url", "signed_url", "other_port"),
    [
        (
            "https://rooms.example.com",
            "https://rooms.example.com:443/twilio/status/meeting-a%2Fb",
            "https://rooms.example.com:8443/twilio/status/meeting-a%2Fb",
        ),
        (
            "https://rooms.example.com:443",
            "https://rooms.example.com/twilio/status/meeting-a%2Fb",
            "https://rooms.example.com:8443/twilio/status/meeting-a%2Fb",
        ),
        (
            "http://rooms.example.com/",
            "http://rooms.example.com:80/twilio/status/meeting-a%2Fb",
            "http://rooms.example.com:8080/twilio/status/meeting-a%2Fb",
        ),
    ],
)
def test_twilio_may_sign_with_or_without_the_default_port(
    public_url: str, signed_url: str, other_port: str
) -> None:
    # The gateway behind a proxy: Twilio calls the public URL, the proxy forwards to loopback.
    with running_gateway(public_url) as gateway:
        validator = RequestValidator(TEST_AUTH_TOKEN)
        response = gateway.post(
            "meeting-a/b", CONNECTED, signature=validator.compute_signature(signed_url, CONNECTED)
        )
        assert response.status_code == 202, response.text
        assert gateway.signaller.ids() == ["meeting-a/b"]
        elsewhere = gateway.post(
            "meeting-a/b", CONNECTED, signature=validator.compute_signature(other_port, CONNECTED)
        )
        assert elsewhere.status_code == 403 and "does not match" in error(elsewhere)


def test_the_query_is_signed_as_sent(gateway: Gateway) -> None:
    url = gateway.callback_url("m-1") + "?b=%7E&a=1"  # not re-encoded, not re-ordered
    headers = {"X-Twilio-Signature": compute_signature(TEST_AUTH_TOKEN, url, CONNECTED)}
    response = gateway.http.post(gateway.local(url), data=CONNECTED, headers=headers)
    assert response.status_code == 202, response.text


# ----------------------------------------------------------------------------------- refusals


def test_signatures_that_cannot_be_right_are_403_naming_the_problem(gateway: Gateway) -> None:
    url = gateway.local(gateway.callback_url("m-1"))
    good = compute_signature(TEST_AUTH_TOKEN, gateway.callback_url("m-1"), CONNECTED)
    name = b"X-Twilio-Signature"
    wrong_token = compute_signature("wrong-token", gateway.callback_url("m-1"), CONNECTED)
    cases: list[tuple[list[tuple[bytes, bytes]], str]] = [
        ([], "the X-Twilio-Signature header is missing"),
        ([(name, b"")], "does not match"),
        ([(name, good.encode()), (name, good.encode())], "the X-Twilio-Signature header is repeated"),
        # Was a 500: hmac.compare_digest raises TypeError on non-ASCII str.
        ([(name, "é".encode())], "X-Twilio-Signature is not ASCII"),
        ([(name, good[:-2].encode() + "ü=".encode())], "X-Twilio-Signature is not ASCII"),
        ([(name, b"\xff" * 28)], "X-Twilio-Signature is not ASCII"),
        ([(name, wrong_token.encode())], "does not match"),
        ([(name, b"L/OH5YylLD5NRKLltdqwSvS0BnU=")], "does not match"),
    ]
    for headers, message in cases:
        response = gateway.http.post(url, data=CONNECTED, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert message in error(response), (headers, response.text)
    assert gateway.signaller.signals == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SequenceNumber": "²"}, "malformed status callback: SequenceNumber='²' is not a whole number"),
        ({"SequenceNumber": "9" * 5000}, "SequenceNumber='99999"),
        ({"Timestamp": "yesterday"}, "Timestamp='yesterday' is not an ISO 8601 date-time"),
        ({"Timestamp": "9999-12-31T23:59:59-01:00"}, "is out of range in UTC"),
        ({"RoomSid": ""}, "RoomSid is missing"),
        ({"ParticipantIdentity": ""}, "needs ParticipantSid and ParticipantIdentity"),
    ],
)
def test_signed_but_malformed_callbacks_are_400_naming_the_parameter(
    gateway: Gateway, changes: dict[str, str], message: str
) -> None:
    response = gateway.post("m-1", CONNECTED | changes)
    assert response.status_code == 400, response.text
    assert message in error(response)
    assert gateway.signaller.signals == []


def test_signed_forms_with_repeated_or_undecodable_parameters_are_400(gateway: Gateway) -> None:
    repeated = gateway.post("m-1", [*CONNECTED.items(), ("SequenceNumber", "3")])
    assert repeated.status_code == 400
    assert error(repeated) == "malformed status callback: SequenceNumber is repeated (2 values)"
    url = gateway.local(gateway.callback_url("m-1"))
    # Refused while parsing, before any signature can be checked: nothing Twilio signs looks like this.
    for body, message in [
        (urlencode(CONNECTED).encode() + b"&Extra=%FF", "the body's percent-escapes are not UTF-8"),
        (urlencode(CONNECTED).encode() + b"&Extra=\xff", "the body is not UTF-8"),
    ]:
        response = gateway.http.post(url, content=body, headers={"X-Twilio-Signature": "x"})
        assert response.status_code == 400, response.text
        assert error(response) == message
    bad_query = gateway.http.get(url + "?RoomSid=%FF", headers={"X-Twilio-Signature": "x"})
    assert bad_query.status_code == 400 and error(bad_query) == "the query's percent-escapes are not UTF-8"


def test_paths_that_name_no_workflow_are_404(gateway: Gateway) -> None:
    cases = [
        ("/twilio/status/a/b", "no workflow named in the path: the workflow id contains a literal '/'"),
        ("/twilio/status/", "no workflow named in the path: the path has no workflow id"),
        (
            "/twilio/status/%FF",
            "no workflow named in the path: the workflow id's percent-escapes are not UTF-8",
        ),
        ("/twilio/%73tatus/m-1", "the path must start with /twilio/status/ literally"),
        ("/twilio/statusx", "Not Found: POST /twilio/statusx"),
        ("/", "Not Found: POST /"),
    ]
    for path, message in cases:
        response = gateway.http.post(gateway.url + path, data=CONNECTED, headers={"X-Twilio-Signature": "x"})
        assert response.status_code == 404, (path, response.text)
        assert error(response).startswith(message), (path, response.text)
    wrong_method = gateway.http.put(gateway.local(gateway.callback_url("m-1")))
    assert wrong_method.status_code == 405
    assert error(wrong_method) == "Method Not Allowed: PUT /twilio/status/m-1"


def test_temporal_outcomes(gateway: Gateway) -> None:
    gone = gateway.post("gone-m-1", CONNECTED)
    assert gone.status_code == 200 and gone.json() == {"ignored": "workflow gone-m-1 is not running"}
    down = gateway.post("down-m-1", CONNECTED)
    assert down.status_code == 503 and error(down) == "Temporal is unavailable; try again"
    refused = gateway.post("refused-" + "x" * 2000, CONNECTED)
    assert refused.status_code == 400
    assert error(refused).startswith("Temporal refused the signal: WorkflowId length exceeds limit.")
    ignored = gateway.post("m-1", CONNECTED | {"StatusCallbackEvent": "track-added"})
    assert ignored.status_code == 200 and ignored.json() == {"ignored": "track-added"}


# ------------------------------------------------------------------------------ oversized bodies


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_an_oversized_content_length_is_refused_before_any_of_the_body_is_sent(gateway: Gateway) -> None:
    connection = RawConnection(gateway.url)
    try:
        # A signature header too: the length is refused before the body would be read to check it.
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(20 * 1024 * 1024),
            "X-Twilio-Signature": "L/OH5YylLD5NRKLltdqwSvS0BnU=",
        }
        connection.send(request_head("/twilio/status/m-1", headers))
        response = connection.read_response()  # answered with none of the 20 MiB sent
    finally:
        connection.close()
    assert response.status_code == 413
    assert response.json() == {"error": f"Content-Length is 20971520; the limit is {MAX_BODY_BYTES} bytes"}
    assert response.headers["connection"] == "close"


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(gateway: Gateway) -> None:
    connection = RawConnection(gateway.url)
    try:
        headers = {"Transfer-Encoding": "chunked", "X-Twilio-Signature": "x"}
        connection.send(request_head("/twilio/status/m-1", headers))
        # One byte over the limit, the chunk left unfinished and the body never terminated.
        connection.send(b"%x\r\n" % (MAX_BODY_BYTES + 1) + b"a" * (MAX_BODY_BYTES + 1))
        response = connection.read_response()
    finally:
        connection.close()
    assert response.status_code == 413
    assert response.json() == {"error": f"the body is longer than the limit of {MAX_BODY_BYTES} bytes"}


def test_a_body_of_exactly_the_limit_is_read_and_checked() -> None:
    with running_gateway(max_body_bytes=1000) as small:
        url = small.local(small.callback_url("m-1"))
        at_limit = small.http.post(url, content=b"a" * 1000, headers={"X-Twilio-Signature": "x"})
        assert at_limit.status_code == 403, "within the limit: read, parsed and its signature checked"
        assert "does not match" in error(at_limit)
        over = small.http.post(url, content=b"a" * 1001, headers={"X-Twilio-Signature": "x"})
        assert over.status_code == 413
        assert error(over) == "Content-Length is 1001; the limit is 1000 bytes"


def test_an_oversized_request_target_is_414() -> None:
    # A GET callback's parameters are its query, so the target is bounded like a body. (uvicorn's own
    # parsers refuse targets much over 64 KiB before the app sees them, hence a smaller limit here.)
    with running_gateway(max_body_bytes=1000) as small:
        url = small.local(small.callback_url("m-1")) + "?x=" + "a" * 1000
        response = small.http.get(url, headers={"X-Twilio-Signature": "x"})
        assert response.status_code == 414
        target = len("/twilio/status/m-1") + len("x=") + 1000
        assert error(response) == f"the request target is {target} bytes; the limit is 1000 bytes"


def test_a_huge_upload_neither_stalls_the_gateway_nor_is_read_past_the_limit(gateway: Gateway) -> None:
    """A 20 MiB form (it used to be read, parsed and sorted before the signature check, stalling every
    other request for seconds) uploaded in the background while a genuine callback arrives."""
    total = 20 * 1024 * 1024
    piece = b"a=" + b"b" * (16 * 1024 - 2)
    connection = RawConnection(gateway.url)
    started = threading.Event()
    resume = threading.Event()
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            connection.send(
                request_head(
                    "/twilio/status/m-1", {"Transfer-Encoding": "chunked", "X-Twilio-Signature": "x"}
                )
            )
            while connection.sent < total:
                connection.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
                if connection.sent >= 2 * len(piece) and not started.is_set():
                    started.set()  # part of the body is in, under the limit: the request is in progress
                    resume.wait()
            connection.send(b"0\r\n\r\n")
            outcome["finished"] = True
        except OSError as exc:  # the gateway closed the connection: it stopped reading the upload
            outcome["finished"] = False
            outcome["error"] = exc

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    try:
        assert started.wait(30), "the upload did not start"
        genuine = gateway.post("m-genuine", CONNECTED)
        assert uploader.is_alive() and not outcome, "the upload is still in progress"
        assert genuine.status_code == 202, genuine.text
        assert gateway.signaller.ids() == ["m-genuine"]
        resume.set()
        refused = connection.read_response()
        uploader.join(30)
    finally:
        resume.set()
        connection.close()
    assert refused.status_code == 413
    assert refused.json() == {"error": f"the body is longer than the limit of {MAX_BODY_BYTES} bytes"}
    assert outcome.get("finished") is False, f"the gateway read all {total} bytes: {outcome}"


def test_request_text_is_escaped_in_log_lines(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="roomkeeper")
    forged = "/twilio/status/m-1%0aWARNING%20roomkeeper.gateway.app%3A%20all%20good%0d%0a"
    response = gateway.http.post(gateway.url + forged, data=CONNECTED, headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 403 and "does not match" in error(response)
    # And a signed callback whose odd value lands in the message, which is logged too.
    odd = gateway.post("m-2\r\nINFO forged", CONNECTED | {"SequenceNumber": "1\nINFO forged"})
    assert odd.status_code == 400 and "SequenceNumber='1\\nINFO forged'" in error(odd)
    records = [r for r in caplog.records if r.name.startswith("roomkeeper")]
    assert len(records) == 2, [r.getMessage() for r in records]
    lines = [logging.Formatter("%(levelname)s %(name)s: %(message)s").format(r) for r in records]
    for line in lines:
        assert "\n" not in line and "\r" not in line, line
    assert "for workflow 'm-1\\nWARNING roomkeeper.gateway.app: all good\\r\\n': 403" in lines[0]
    assert "for workflow 'm-2\\r\\nINFO forged': 400" in lines[1]
    # The structured fields carry the id too, escaped by both log formats.
    assert [(r.step, r.status) for r in records] == [("callback_rejected", 403), ("callback_rejected", 400)]  # type: ignore[attr-defined]
    for formatter in (TextFormatter(), JsonFormatter()):
        for record in records:
            assert "\n" not in formatter.format(record) and "\r" not in formatter.format(record)
