"""Messaging channels: Twilio SMS, MMS and WhatsApp, and the embeddable web chat widget."""
