"""What ``/openapi.json`` says about the meetings API beyond the models: examples, the error responses
each route declares, and descriptions for enums whose classes carry none. ``tests/gateway`` checks every
example against its model, so an example cannot drift from what the API answers.

Response examples are put into the finished document (``complete``) rather than declared on the routes:
FastAPI drops every ``None`` when it encodes the document, and an example without its nulls (a new
meeting's ``room_sid``) would not be valid against its own schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: A room and participant as Twilio names them, for the examples.
_ROOM_SID = "RM" + "0123456789abcdef" * 2
_PARTICIPANT_SID = "PA" + "fedcba9876543210" * 2

SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    "minimal": {
        "summary": "Only what is required",
        "value": {
            "meeting_id": "standup-2030-06-03",
            "start_time": "2030-06-03T09:00:00Z",
            "end_time": "2030-06-03T09:15:00Z",
        },
    },
    "full": {
        "summary": "Every common option",
        "value": {
            "meeting_id": "standup-2030-06-03",
            "title": "Daily standup",
            "start_time": "2030-06-03T09:00:00Z",
            "end_time": "2030-06-03T09:15:00Z",
            "open_before_seconds": 120,
            "room": {
                "unique_name": "DailyStandup",
                "type": "group",
                "max_participants": 10,
                "max_participant_duration": 3600,
                "empty_room_timeout": 5,
                "unused_room_timeout": 5,
                "record_participants_on_connect": False,
                "video_codecs": ["VP8"],
                "media_region": "us1",
                "audio_only": False,
                "large_room": False,
            },
        },
    },
}

STATUS_EXAMPLE: dict[str, Any] = {
    "meeting_id": "standup-2030-06-03",
    "title": "Daily standup",
    "phase": "open",
    "room_sid": _ROOM_SID,
    "start_time": "2030-06-03T09:00:00Z",
    "end_time": "2030-06-03T09:15:00Z",
    "open_at": "2030-06-03T08:58:00Z",
    "opened_at": "2030-06-03T08:58:00.215000Z",
    "participants": [
        {
            "sid": _PARTICIPANT_SID,
            "identity": "alice",
            "connected_at": "2030-06-03T08:59:12Z",
            "eviction_deadline": "2030-06-03T09:59:12Z",
        }
    ],
    "trouble": None,
    "history": [
        {
            "at": "2030-06-01T14:02:41.118000Z",
            "what": "scheduled: 2030-06-03T09:00:00+00:00 to 2030-06-03T09:15:00+00:00",
        },
        {"at": "2030-06-03T08:58:00.215000Z", "what": f"room {_ROOM_SID} created"},
    ],
}

CREATED_EXAMPLE: dict[str, Any] = {
    "meeting_id": "standup-2030-06-03",
    "workflow_id": "meeting-standup-2030-06-03",
    "created": True,
    "status": STATUS_EXAMPLE
    | {
        "phase": "scheduled",
        "room_sid": None,
        "opened_at": None,
        "participants": [],
        "history": STATUS_EXAMPLE["history"][:1],
    },
}

PAGE_EXAMPLE: dict[str, Any] = {
    "meetings": [
        {
            "meeting_id": "standup-2030-06-03",
            "workflow_id": "meeting-standup-2030-06-03",
            "title": "Daily standup",
            "phase": "open",
            "start_time": "2030-06-03T09:00:00Z",
            "end_time": "2030-06-03T09:15:00Z",
            "room_sid": _ROOM_SID,
        }
    ],
    "next_page_token": None,
}

SUMMARY_EXAMPLE: dict[str, Any] = {
    "meeting_id": "standup-2030-06-03",
    "room_sid": _ROOM_SID,
    "room_sids": [_ROOM_SID],
    "scheduled_start": "2030-06-03T09:00:00Z",
    "scheduled_end": "2030-06-03T09:15:00Z",
    "opened_at": "2030-06-03T08:58:00.215000Z",
    "closed_at": "2030-06-03T09:07:30.530000Z",
    "end_lag_seconds": -449.47,
    "participants_seen": 1,
    "identities_seen": ["alice"],
    "participants_evicted": [],
    "ended_by": "end_now",
    "reason": "done early",
}

TOKEN_EXAMPLE: dict[str, Any] = {
    "meeting_id": "standup-2030-06-03",
    "identity": "alice",
    "room": "DailyStandup",
    # The start of a real token's header and claims; a whole one is some 450 characters.
    "token": "eyJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0xIiwidHlwIjoiSldUIn0.eyJqdGkiOiJTS…",
    "not_before": "2030-06-03T08:58:00Z",
    "expires_at": "2030-06-03T09:20:00Z",
    "grace_seconds": 300,
    "capped": False,
}

#: Enums of other layers whose classes have no docstring to describe them.
ENUM_DESCRIPTIONS = {
    "Phase": "Where a meeting is in its story: `scheduled` (waiting to open its room), `opening`, `open`, "
    "`closing`, then one of `completed`, `cancelled`, `failed`.",
}

_ERRORS = {
    400: "The body is not valid JSON.",
    401: "No bearer token, or not the gateway's (`WWW-Authenticate: Bearer`).",
    404: "No such meeting.",
    409: "The meeting's state refuses the request; the message says why.",
    413: "The body is larger than the gateway's limit.",
    415: "The body is not sent as `application/json`.",
    422: "The request breaks a rule: every problem, with its field.",
    502: "Temporal refused the gateway itself (its credentials, or a fault of the server).",
    503: "Temporal did not answer (`Retry-After` says when to try again), or the API is closed because "
    "`ROOMKEEPER_API_TOKEN` is not set on the gateway (or, for join tokens, it has no Twilio API key).",
}
#: What any route may answer: no or a wrong token, invalid parameters, Temporal's trouble.
_ANY_ROUTE = (401, 422, 502, 503)
#: What a route with a body may answer besides.
BODY_ERRORS = (400, 413, 415)


def error_responses(error: type[BaseModel], invalid: type[BaseModel], *statuses: int) -> dict[int | str, Any]:
    """A route's declared error responses: ``statuses`` and those of every route, ``invalid`` for 422
    and ``error`` for the rest."""
    responses: dict[int | str, Any] = {}
    for status in sorted({*_ANY_ROUTE, *statuses}):
        responses[status] = {"model": invalid if status == 422 else error, "description": _ERRORS[status]}
        if status == 503:
            responses[status]["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before asking again (when Temporal did not answer).",
                    "schema": {"type": "integer"},
                }
            }
    return responses


#: (path, method, status) → the JSON example of that response.
RESPONSE_EXAMPLES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/meetings", "post", "201"): CREATED_EXAMPLE,
    ("/meetings", "post", "200"): CREATED_EXAMPLE | {"created": False},
    ("/meetings", "get", "200"): PAGE_EXAMPLE,
    ("/meetings/{meeting_id}", "get", "200"): STATUS_EXAMPLE,
    ("/meetings/{meeting_id}", "patch", "200"): STATUS_EXAMPLE,
    ("/meetings/{meeting_id}/end", "post", "200"): SUMMARY_EXAMPLE,
    ("/meetings/{meeting_id}/tokens", "post", "200"): TOKEN_EXAMPLE,
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's OpenAPI ``document`` with the response examples and the enum descriptions in it."""
    schemas = document.get("components", {}).get("schemas", {})
    for name, description in ENUM_DESCRIPTIONS.items():
        if name in schemas:
            schemas[name].setdefault("description", description)
    for (path, method, status), value in RESPONSE_EXAMPLES.items():
        response = document["paths"].get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response.setdefault("content", {}).setdefault("application/json", {})["example"] = value
    return document
