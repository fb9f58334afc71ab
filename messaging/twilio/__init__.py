"""SMS, MMS and WhatsApp through Twilio Messaging: signed webhooks in, the REST API out,
with delivery states, consent keywords, media and the WhatsApp customer-care window."""
