"""The Twilio Voice channel: webhooks that answer calls with TwiML, the AI's spoken turns,
and warm transfer to an agent or a fallback number."""
