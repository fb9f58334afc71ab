"""The agents' queue page: the login, queue, admin and dashboard pages, served as static
HTML, CSS and JavaScript (no build step, nothing from a CDN) under a strict
Content-Security-Policy. Everything the pages show comes from the JSON API."""
