"""Temporal activities: one per Twilio Video REST operation, with durable retries."""
