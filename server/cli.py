"""The `modelreg` command: serve, and manage the database schema.

A command imports what it runs only when it runs (here and in the *_cli
modules): `modelreg --help` and the client commands, which only speak HTTP,
start in ~0.3 s instead of importing the server, GraphQL and the database
layer first (~1.2 s of CPU for every call of every command).
"""

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence

from server.client_cli import add_client_commands, run_client
from server.mlflow_import.arguments import add_import_commands
from server.secrets_cli import add_secrets_commands, run_secrets_command
from server.settings import get_settings
from server.token_cli import add_token_commands, run_token_command
from server.watch_cli import add_watch_command


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server import lifecycle, logs
    from server.bootstrap import announce, secret_key_problem, startup_problem
    from server.metrics_processes import share_between_workers

    settings = get_settings()
    problem = (
        startup_problem(settings)
        or lifecycle.schema_problem(settings.database_url)
        or secret_key_problem(settings)
    )
    if problem is not None:
        print(f"modelreg: cannot serve: {problem}", file=sys.stderr)
        return 1
    host, port = args.host or settings.host, args.port or settings.port
    announce(settings, host, port)
    lifecycle.exit_zero_on_stop_signals()
    lifecycle.dump_stacks_on_sigusr1()
    workers = args.workers or settings.workers
    share_between_workers(workers)  # before uvicorn starts them: one /metrics for all
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # httptools + uvloop: the pure-Python stack costs ~40 ms per request here.
        http="httptools",
        loop="uvloop",
        log_level=settings.log_level,
        access_log=args.access_log,
        log_config=logs.logging_config(logs.format_of(settings), settings.log_level),
        # Requests in flight may finish; the dispatcher's sends get what is left of it.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        # uvicorn kills a worker that does not answer its ping within this: 5 s (its
        # default) killed workers still importing on a loaded machine, again and again.
        timeout_worker_healthcheck=30,
        # A WebSocket message (a subscription's document) is bounded like a request body.
        ws_max_size=settings.max_body_bytes,
        ws_per_message_deflate=settings.live_compression,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    import uvloop

    from server import lifecycle
    from server.bootstrap import secret_key_problem, startup_problem
    from server.worker import run_worker

    settings = get_settings()
    problem = (
        startup_problem(settings)
        or lifecycle.schema_problem(settings.database_url)
        or secret_key_problem(settings)
    )
    if problem is not None:
        print(f"modelreg: cannot start the worker: {problem}", file=sys.stderr)
        return 1
    lifecycle.exit_zero_on_stop_signals()
    lifecycle.dump_stacks_on_sigusr1()
    uvloop.run(run_worker(settings))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage import migrate

    migrate.upgrade(get_settings().database_url, args.revision)
    return 0


def _db_revision(args: argparse.Namespace) -> int:
    from storage import migrate

    migrate.make_revision(get_settings().database_url, args.message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelreg", description="A model registry. Settings come from MODELREG_* variables."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve GraphQL on HTTP (GraphiQL at /graphql)")
    serve.add_argument("--host", help="default: MODELREG_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: MODELREG_PORT or 8000")
    serve.add_argument("--workers", type=int, help="processes; default MODELREG_WORKERS or 1")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="deliver webhooks (no HTTP server)")
    worker.set_defaults(handler=_worker)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    upgrade = db.add_parser("upgrade", help="apply migrations (creates the database if new)")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(handler=_db_upgrade)
    revision = db.add_parser("revision", help="autogenerate a migration (developers)")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(handler=_db_revision)
    add_token_commands(commands)
    add_secrets_commands(commands)
    add_client_commands(commands)
    add_watch_command(commands)
    add_import_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:
        return _stdout_closed()


def _stdout_closed() -> int:
    """A reader that left early (`| head`, a closed pipe): one line, no traceback.

    stdout is pointed at /dev/null so the interpreter's flush at exit cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    print("modelreg: stdout was closed before the output was written", file=sys.stderr)
    return 1


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "token_handler"):
        return run_token_command(args)
    if hasattr(args, "secrets_handler"):
        return run_secrets_command(args)
    if hasattr(args, "import_handler"):
        # The summary on stdout and the progress on stderr are the output; no logs.
        logging.basicConfig(level=logging.WARNING)
        return int(args.import_handler(args))
    if hasattr(args, "watch_handler"):
        # The JSON lines on stdout and the reasons on stderr are the output; no logs.
        logging.basicConfig(level=logging.WARNING)
        return int(args.watch_handler(args))
    if hasattr(args, "client"):
        # CI reads the JSON on stdout and the reason on stderr; no request logs.
        logging.basicConfig(level=logging.WARNING)
        return run_client(args)
    from server import logs

    settings = get_settings()
    logs.configure(logs.format_of(settings), settings.log_level, migrations=args.command == "db")
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
