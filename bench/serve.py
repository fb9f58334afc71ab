"""Serve an ASGI app for a benchmark the way `switchboard serve --workers N` serves the
gateway: one Hypercorn process, or several each accepting on a socket of its own
(`server.serving`). The bare endpoints are served by the same command as the gateway.

    python -m bench.serve --workers 2 --bind 127.0.0.1:8000 server.asgi:app
"""

from __future__ import annotations

import argparse

from hypercorn.config import Config
from hypercorn.run import run

from gateway import event_loop
from server.serving import run_workers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bind", required=True)
    parser.add_argument("application")
    args = parser.parse_args(argv)
    config = Config()
    config.bind = [args.bind]
    config.application_path = args.application
    config.workers = args.workers
    config.worker_class = event_loop.HYPERCORN_WORKER_CLASS
    return run_workers(config) if args.workers > 1 else run(config)


if __name__ == "__main__":
    raise SystemExit(main())
