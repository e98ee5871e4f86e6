"""Temporal workflows: ``MeetingWorkflow`` (one per meeting) and the fleet-wide ``RoomReconciler``."""
