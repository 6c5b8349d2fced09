"""SMS through Twilio: the channel, the signed webhooks and the hardened async client."""
