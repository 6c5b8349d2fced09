"""SMS through the real twilio client against the fake Twilio API."""
