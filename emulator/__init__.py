"""A stateful local stand-in for Twilio Programmable Video's REST API v1 (Rooms and Participants).

It knows nothing of roomkeeper: it imitates Twilio, plus a small control surface under ``/emulator``
that simulates what only real media clients could do (participants joining and leaving) and injects
faults. See docs/emulator.md.
"""
