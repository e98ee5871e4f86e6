"""The ``workflow.patched`` ids of MeetingWorkflow, in one place (see docs/meetings.md, "Versioning")."""

from __future__ import annotations


class Patch:
    """``workflow.patched`` ids: each guards a change to the commands a running meeting issues, so
    meetings started by older code replay as they ran (see docs/meetings.md, "Versioning")."""

    #: A meeting whose end had passed before it was started fails at once, saying so.
    REJECT_PAST_WINDOW = "reject-past-window"
    #: A Twilio call whose round of retries ran out is retried again (an outage), not fatal.
    RETRY_THROUGH_OUTAGES = "retry-twilio-through-outages"
    #: A room that ends in the meeting's last minute is not replaced.
    NO_ROOM_FOR_THE_LAST_MINUTE = "no-room-for-the-last-minute"
    #: How the meeting ended is recorded by the ``RecordMeetingOutcome`` activity (counted once).
    RECORD_OUTCOME = "record-outcome-activity"
    #: A failure with a room in progress completes the room before the meeting fails.
    CLOSE_ROOM_ON_FAILURE = "close-room-on-failure"
    #: Any permanent Twilio error fails the meeting the visible way (phase, history, outcome).
    FAIL_VISIBLY = "fail-visibly"
    #: A room Twilio no longer knows (404 on FetchRoom) has ended, like one it lists as completed.
    UNKNOWN_ROOM_HAS_ENDED = "unknown-room-has-ended"
