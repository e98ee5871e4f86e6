"""MeetingWorkflow's own metrics, through the SDK's replay-safe meter (nothing is emitted on replay).

They reach Prometheus through the SDK exporter, which the worker serves beside roomkeeper's other
metrics. Bucket boundaries for the histograms are set in ``HISTOGRAM_BUCKETS`` for the exporter.
"""

from __future__ import annotations

from typing import Final

from temporalio import workflow

ROOMS_CREATED: Final = "roomkeeper_rooms_created"
MEETINGS_ENDED: Final = "roomkeeper_meetings_ended"
END_LAG: Final = "roomkeeper_room_end_lag_seconds"
OPEN_LEAD: Final = "roomkeeper_room_open_lead_seconds"
EVICTIONS: Final = "roomkeeper_participants_evicted"

HISTOGRAM_BUCKETS: Final[dict[str, list[float]]] = {
    # completion minus scheduled end: a healthy worker completes within a second or two
    END_LAG: [0.5, 1, 2, 5, 10, 30, 60, 300],
    # room ready minus scheduled start: negative is early (the default opens 120 s early)
    OPEN_LEAD: [-600, -300, -180, -120, -90, -60, -30, 0, 30, 60, 300],
}


def room_created(adopted: bool) -> None:
    workflow.metric_meter().create_counter(ROOMS_CREATED, "Twilio rooms opened for meetings").add(
        1, {"adopted": str(adopted).lower()}
    )


def room_opened(lead_seconds: float) -> None:
    workflow.metric_meter().create_histogram_float(
        OPEN_LEAD, "Room ready time minus the meeting's scheduled start", "s"
    ).record(lead_seconds)


def meeting_ended(ended_by: str, end_lag_seconds: float | None) -> None:
    meter = workflow.metric_meter()
    meter.create_counter(MEETINGS_ENDED, "Meetings finished, by how they ended").add(
        1, {"ended_by": ended_by}
    )
    if end_lag_seconds is not None and ended_by == "schedule":
        meter.create_histogram_float(
            END_LAG, "Room completion minus the meeting's scheduled end", "s"
        ).record(max(0.0, end_lag_seconds))


def participant_evicted(reason: str) -> None:
    workflow.metric_meter().create_counter(EVICTIONS, "Participants disconnected by roomkeeper").add(
        1, {"reason": reason}
    )
