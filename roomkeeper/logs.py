"""How roomkeeper's processes log: one line per record, human-readable text or JSON.

``ROOMKEEPER_LOG_FORMAT`` (or ``--log-format``) picks the format: ``text`` (the default) for a terminal,
``json`` for Loki, Cloud Logging and other collectors that index fields. Either way a record's
structured fields (``common.lifecycle``: ``step``, ``meeting_id``, ``room_sid``; ``workflow_id`` and,
for activities, ``activity`` and ``attempt`` from the Temporal SDK's logger context) are fields of the
line, not words in the message.

An expected failure is one line, not a traceback: an activity failing with an ``ApplicationError``
(a Twilio 503 that will be retried, a refused change) is logged by the SDK as ``Completing activity as
failed`` with the whole stack; ``OneLineFailures`` turns that into the message plus the error's type
and text. Anything else (a bug: ``KeyError``, a non-deterministic workflow) keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, get_args

import temporalio.activity
import temporalio.workflow
from temporalio.exceptions import ApplicationError

from common.lifecycle import IDS, WORKFLOW_ID
from common.settings import LogFormat

FORMATS: tuple[str, ...] = get_args(LogFormat)

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
#: Extras that are not fields: uvicorn's coloured copy of the message, the SDK's internal markers and
#: its context dicts (their useful parts are lifted into fields by ``record_fields``).
_NOT_FIELDS = {"color_message", "__temporal_error_identifier", "workflow_info", "activity_info"}


def _scalar(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record's structured fields: the ids first, then any other ``extra``, in a stable order."""
    found: dict[str, Any] = {}
    workflow = getattr(record, "temporal_workflow", None)
    activity = getattr(record, "temporal_activity", None)
    if isinstance(workflow, dict):
        found[WORKFLOW_ID] = workflow.get("workflow_id")
        if workflow.get("update_name"):
            found["update"] = workflow["update_name"]
    if isinstance(activity, dict):
        found[WORKFLOW_ID] = activity.get("workflow_id")
        found["activity"] = activity.get("activity_type")
        found["attempt"] = activity.get("attempt")
    for key, value in record.__dict__.items():
        if key in _STANDARD or key in _NOT_FIELDS or key.startswith("temporal_"):
            continue
        found[key] = _scalar(value)
    first = [name for name in ("step", *IDS) if found.get(name) is not None]
    rest = sorted(name for name, value in found.items() if name not in first and value is not None)
    return {name: found[name] for name in first + rest}


def _logfmt(value: Any) -> str:
    text = str(value)
    if text and not any(c.isspace() or c in '"=' for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-05 09:00:00,123 INFO roomkeeper.meeting: room opened  meeting_id=… room_sid=…``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        found = record_fields(record)
        if not found:
            return line
        head, newline, tail = line.partition("\n")  # fields stay on the first line, before a traceback
        shown = " ".join(f"{name}={_logfmt(value)}" for name, value in found.items())
        return f"{head}  {shown}{newline}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``severity``, ``logger``, ``message``, the
    record's fields, and ``exception`` (the traceback) when there is one. ``severity`` and ``message``
    are the names Cloud Logging reads; Loki's ``json`` stage takes any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {name: value for name, value in record_fields(record).items() if name not in entry}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class OneLineFailures(logging.Filter):
    """Expected failures as one line: a record whose exception is an ``ApplicationError`` (raised on
    purpose, with a message that says what went wrong) loses its traceback and gains ``error_type``
    and the error's message. Every other exception keeps its traceback: it is a bug to read."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ApplicationError):
            record.msg = f"{record.getMessage()}: {error.message}"
            record.args = None
            record.error_type = error.type or "ApplicationError"
            record.exc_info = None
            record.exc_text = None
        return True


def configure(log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send every record of this process to stderr in ``log_format``, one line each (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(OneLineFailures())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns everything else
    # The SDK appends its context to every message as a dict's repr; the formatters show it as fields.
    temporalio.activity.logger.activity_info_on_message = False
    temporalio.workflow.logger.workflow_info_on_message = False


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-format``; without it, ``ROOMKEEPER_LOG_FORMAT`` decides (``text`` when unset)."""
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default=None,
        help="text (default) or json: one JSON object per line, for log collectors "
        "(overrides ROOMKEEPER_LOG_FORMAT)",
    )
