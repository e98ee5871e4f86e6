"""The HTTP ingress: Twilio status callbacks become ``room_event`` signals."""
