"""Cal.com bookings as meetings: the webhook's payload, its signature, the event-type options file, and
the door that turns each delivery into a start, reschedule or cancel of one meeting per booking series.

Everything Cal.com-specific lives here; ``roomkeeper/gateway/calcom.py`` only serves it over HTTP.
"""
