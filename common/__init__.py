"""Shared infrastructure, below activities and workflows: settings, the Temporal connection, search
attributes, the room-event signal, the status-callback URL, the metrics registry.

It imports only ``twilio_video`` (and libraries); everything else may import it.
"""
