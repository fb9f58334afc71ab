"""The queue page's JSON API and live socket: queue views, search and counts, the
conversation view's data, the actions beyond claim/reply/release, canned responses, the
admins' dashboard, and `WEBSOCKET /api/live`."""
