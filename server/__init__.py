"""The composition roots: the app factory, the worker, the `switchboard` command, the
launcher behind `switchboard up`, the managed Redis and the ASGI entry. The only package
that imports the concrete channels."""
