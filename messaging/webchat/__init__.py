"""The web chat channel: an embeddable widget that talks to the gateway over a WebSocket."""
