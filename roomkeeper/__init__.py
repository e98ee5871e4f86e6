"""roomkeeper: scheduled meetings → Twilio Video rooms, driven through their whole life on Temporal."""
