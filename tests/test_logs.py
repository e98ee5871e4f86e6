"""The log formats on their own: fields as ``key=value`` or JSON keys, tracebacks kept for bugs only."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
import temporalio.activity
import temporalio.workflow
from temporalio.exceptions import ApplicationError

from common.lifecycle import Step, fields
from roomkeeper.logs import JsonFormatter, OneLineFailures, TextFormatter, configure


def _record(
    message: str, *args: object, exc: BaseException | None = None, extra: dict[str, Any] | None = None
) -> logging.LogRecord:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            exc_info = sys.exc_info()
    record = logging.LogRecord("roomkeeper.test", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra or {})
    return record


def test_text_puts_the_ids_first_as_key_value_pairs() -> None:
    record = _record(
        "room opened (%s)",
        "standup",
        extra=fields(Step.ROOM_OPENED, meeting_id="standup", room_sid="RM1")
        | {"temporal_workflow": {"workflow_id": "meeting-standup", "run_id": "r"}, "reason": "two words"},
    )
    line = TextFormatter().format(record)
    assert line.endswith(
        "room opened (standup)  step=room_opened meeting_id=standup room_sid=RM1 "
        'workflow_id=meeting-standup reason="two words"'
    )


def test_json_is_one_object_with_the_fields_and_activity_context() -> None:
    record = _record(
        "Completing activity as failed",
        extra={
            "temporal_activity": {"workflow_id": "meeting-x", "activity_type": "CreateRoom", "attempt": 2}
        },
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["severity"] == "WARNING" and entry["message"] == "Completing activity as failed"
    assert (entry["workflow_id"], entry["activity"], entry["attempt"]) == ("meeting-x", "CreateRoom", 2)
    assert entry["time"].endswith("+00:00")


def test_an_application_error_loses_its_traceback_and_says_what_it_was() -> None:
    record = _record(
        "Completing activity as failed", exc=ApplicationError("Twilio said 503", type="TransientError")
    )
    assert OneLineFailures().filter(record)
    text = TextFormatter().format(record)
    assert "\n" not in text
    assert "Completing activity as failed: Twilio said 503  error_type=TransientError" in text


def test_a_bug_keeps_its_traceback_in_both_formats() -> None:
    record = _record("Failed activation", exc=KeyError("room"))
    assert OneLineFailures().filter(record)
    assert "Traceback" in TextFormatter().format(record)
    entry = json.loads(JsonFormatter().format(record))
    assert "KeyError: 'room'" in entry["exception"] and "\n" not in JsonFormatter().format(record)


def test_configure_sends_one_line_per_record_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sdk_loggers = temporalio.activity.logger, temporalio.workflow.logger
    on_message = sdk_loggers[0].activity_info_on_message, sdk_loggers[1].workflow_info_on_message
    try:
        configure("json")
        logging.getLogger("roomkeeper.test").info("hello %s", "there", extra={"meeting_id": "m"})
    finally:  # the rest of the suite logs as pytest set it up
        root.handlers[:] = handlers
        root.setLevel(level)
        sdk_loggers[0].activity_info_on_message, sdk_loggers[1].workflow_info_on_message = on_message
    entry = json.loads(capsys.readouterr().err)
    assert (entry["message"], entry["meeting_id"]) == ("hello there", "m")
