"""The `switchboard` command: `up` runs everything on one machine, `serve` and `worker` run
one process each (for deployments), `migrate` brings the schema up to date, and the
administration commands (`server.admin_commands`) create organizations and agents and load
knowledge bases. Like the app factory and the worker, this is a composition root: it alone
may hand `handoff`'s knowledge loader to `gateway` code. Expected errors end with one line
on stderr and exit status 2, without a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError, ProgrammingError

from gateway import event_loop
from gateway.commands import CommandHandler
from gateway.db import Database
from gateway.errors import BadInput, ConfigurationError, SwitchboardError
from gateway.settings import Settings, load_settings
from server.admin_commands import add_admin_commands
from server.plugins import PLUGINS


def configure_logging(level: str) -> None:
    numeric = logging.getLevelName(level.strip().upper())
    if not isinstance(numeric, int):
        raise ConfigurationError(
            f"invalid SWITCHBOARD_LOG_LEVEL {level!r}: use DEBUG, INFO, WARNING or ERROR"
        )
    logging.basicConfig(
        level=numeric, format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(max(numeric, logging.WARNING))


async def load_demo_knowledge(db: Database, organization_id: int) -> int:
    from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge

    return await load_knowledge(db, organization_id, demo_knowledge_paths())


# --- processes ---------------------------------------------------------------------------


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from server.launcher import run_up

    return run_up(settings, load_demo_knowledge)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from hypercorn.config import Config

    from server.launcher import check_can_listen

    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    settings.require_redis_url()
    settings.require_secret_key()
    config = Config()
    config.worker_class = event_loop.HYPERCORN_WORKER_CLASS
    inherited = os.environ.get("SWITCHBOARD_LISTEN_FD", "")
    if inherited.isdigit():  # `up` holds the socket and shares it with its gateways
        config.bind = [f"fd://{int(inherited)}"]
    else:
        check_can_listen(settings.host, settings.port)
        config.bind = [f"{settings.host}:{settings.port}"]
    # Hypercorn's messages go through our logging set-up rather than its own handlers.
    config.errorlog = logging.getLogger("hypercorn.error")
    if settings.log_level.strip().upper() == "DEBUG":
        config.accesslog = logging.getLogger("hypercorn.access")
    if args.workers > 1:
        from hypercorn.run import run

        from server.serving import run_workers

        # The workers import server.asgi, which reads the settings from the environment.
        os.environ["SWITCHBOARD_HOST"] = settings.host
        os.environ["SWITCHBOARD_PORT"] = str(settings.port)
        config.application_path = "server.asgi:app"
        config.workers = args.workers
        # a socket handed down is shared as it is; otherwise each worker binds its own
        return run(config) if inherited.isdigit() else run_workers(config)

    from hypercorn.asyncio import serve

    from server.app import create_app

    event_loop.run(serve(create_app(settings), config, mode="asgi"))
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.worker import run_worker

    settings.require_redis_url()
    run_worker(settings, burst=args.burst)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from gateway.migrate import upgrade

    upgrade(settings.resolved_database_url)
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    print(f"Database is up to date: {shown}")
    return 0


# --- parsing -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="An AI gateway for customer conversations, with handoff to people.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run everything locally (gateway, worker, Redis)")
    serve = commands.add_parser("serve", help="run the HTTP gateway")
    for command in (up, serve):
        command.add_argument("--host", help="address to listen on (SWITCHBOARD_HOST)")
        command.add_argument("--port", type=int, help="port to listen on (SWITCHBOARD_PORT)")
    up.set_defaults(handler=cmd_up)
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run a job worker")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.set_defaults(handler=cmd_worker)

    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        handler=cmd_migrate
    )

    add_admin_commands(commands)
    for plugin in PLUGINS:
        if plugin.commands is not None:
            plugin.commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {
            name: value
            for name in ("host", "port")
            if (value := getattr(args, name, None)) is not None
        }
        settings = load_settings(**overrides)
        configure_logging(settings.log_level)
        handler: CommandHandler = args.handler
        return handler(settings, args)
    except SwitchboardError as error:
        print(f"switchboard: error: {error.message}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as error:
        print(
            f"switchboard: database error: {error.orig}"
            " (for a new database, run `switchboard migrate` first)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
