"""`modelreg token create|list|revoke`: token administration straight on the database.

For the operator of the registry (like `modelreg db upgrade`); over the API,
admins use the `createApiToken` and `revokeApiToken` mutations. `create`
prints the token alone on stdout, so `TOKEN=$(modelreg token create ...)` works.
The registry's modules are imported when a command runs (see server/cli.py).
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from server.invocation import cli_command
from server.settings import get_settings
from storage.enums import Role

if TYPE_CHECKING:
    from storage.database import Database
    from storage.records import TokenRecord

T = TypeVar("T")
CLI_ACTOR = "modelreg-cli"


def _with_database(work: "Callable[[Database], Awaitable[T]]") -> T:
    from storage.database import create_database

    async def run() -> T:
        db = create_database(get_settings().database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def describe(record: "TokenRecord") -> dict[str, object]:
    return {
        "name": record.name,
        "role": record.role.value,
        "models": record.model_patterns,
        "prefix": record.prefix,
        "createdAt": record.created_at.isoformat(),
        "createdBy": record.created_by,
        "expiresAt": record.expires_at.isoformat() if record.expires_at else None,
        "revokedAt": record.revoked_at.isoformat() if record.revoked_at else None,
        "lastUsedAt": record.last_used_at.isoformat() if record.last_used_at else None,
    }


def _create(args: argparse.Namespace) -> int:
    from resolvers import tokens

    patterns = [p.strip() for value in args.models or [] for p in value.split(",") if p.strip()]
    expires_in = tokens.parse_duration(args.expires_in, "--expires-in") if args.expires_in else None
    issued = _with_database(
        lambda db: tokens.issue(
            db,
            name=args.name,
            role=Role(args.role),
            model_patterns=patterns,
            expires_in=expires_in,
            actor=CLI_ACTOR,
        )
    )
    try:
        print(issued.token, flush=True)
    except BrokenPipeError:
        # Nobody read it, and it cannot be shown again: say so, so it is not left live unseen.
        print(
            f"modelreg: token {args.name!r} was created but stdout was closed before it was "
            f"written; revoke it with `{cli_command()} token revoke {args.name}`",
            file=sys.stderr,
        )
        raise
    print(f"token {args.name!r} ({args.role}) created; it is shown only now", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from storage.queries import tokens as token_queries

    async def everything(db: "Database") -> "list[TokenRecord]":
        async with db.read() as conn:
            return await token_queries.all_tokens(conn)

    records = _with_database(everything)
    print(json.dumps([describe(r) for r in records if args.all or r.revoked_at is None], indent=2))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from resolvers import tokens

    record = _with_database(lambda db: tokens.revoke_directly(db, args.name, actor=CLI_ACTOR))
    print(json.dumps(describe(record), indent=2))
    return 0


def run_token_command(args: argparse.Namespace) -> int:
    from resolvers.errors import RegistryError

    try:
        return int(args.token_handler(args))
    except RegistryError as error:
        print(f"modelreg: {error.code}: {error.message}", file=sys.stderr)
        return 1


def add_token_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = commands.add_parser("token", help="API tokens (on the database directly)")
    token_commands = group.add_subparsers(dest="token_command", required=True)

    create = token_commands.add_parser("create", help="make a token; prints it once")
    create.add_argument("--name", required=True, help="the actor name recorded on its changes")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--models",
        action="append",
        metavar="PATTERN",
        help="limit changes to models matching these fnmatch patterns (repeat or comma-separate)",
    )
    create.add_argument("--expires-in", help="e.g. 90d, 12h, 30m (default: never)")
    create.set_defaults(token_handler=_create)

    listing = token_commands.add_parser("list", help="tokens (never the secrets) as JSON")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.set_defaults(token_handler=_list)

    revoke = token_commands.add_parser("revoke", help="revoke a token by name, at once")
    revoke.add_argument("name")
    revoke.set_defaults(token_handler=_revoke)
