"""Twilio Programmable Video REST API v1 (Rooms and Participants): one definition of its wire format.

The resource models, limits, error codes and request signature live here and are shared by the
emulator, the typed client and the tests. Nothing in this package knows about Temporal.
"""
