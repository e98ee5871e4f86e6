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
    #: A room Twilio no longer knows when the meeting completes it (404 on CompleteRoom: a meeting whose
    #: end passed while everything was down, and Twilio, or an emulator, forgot it) is closed, not failed.
    UNKNOWN_ROOM_IS_CLOSED = "unknown-room-is-closed"

    # The four below are decided once, at the start of a run (``MeetingWorkflow.run``): each patch
    # costs a meeting two history events (its marker and a TemporalChangeVersion search attribute), so
    # related changes share one, and the newest implies the ones before it.

    #: A smaller history and a cheaper reconciler: one durable timer per deadline (a signal wakes the
    #: loop without cancelling and restarting the timer: 4 events a signal, not 6); the ``room`` memo
    #: (whether callbacks arrive, a digest of who is connected) for the reconciler; search attributes
    #: upserted only when they change.
    LEAN_HISTORY = "lean-history"
    #: Twilio writes (create, complete, evict) run on a task queue paced below Twilio's 20 writes/s.
    PACED_TWILIO_WRITES = "paced-twilio-writes"
    #: Defaults that cover the meeting's window: without a ``max_participant_duration`` nobody is evicted
    #: before the end (Twilio's cap: its 24 h maximum); under ``recreate`` Twilio's idle timeouts are
    #: raised to cover the window (at most 60 min), so an idle room is not ended and recreated every
    #: few minutes.
    COVER_THE_WINDOW = "cover-the-window"
    #: Lifecycle events and extend caps: at its start a meeting asks the worker's configuration (the
    #: ``MeetingDefaults`` local activity, recorded in history) where its events go and what caps the
    #: deployment sets; a sender beside the main loop delivers its events (``workflows.meeting_events``).
    #: It implies the three above: code that has it has them, so a run started by it records this one
    #: marker instead of four (histories recorded before it replay through the three markers).
    LIFECYCLE_EVENTS = "lifecycle-events"
