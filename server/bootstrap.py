"""What `modelreg serve` says before it serves: the first admin token, or that auth is off."""

import asyncio
import logging
import sys

from resolvers.tokens import bootstrap_admin_token
from server import logs
from server.admin_token_file import write_first_admin_token
from server.invocation import cli_command
from server.secret_keys import SecretKeyProblem, secret_keys
from server.settings import Settings
from storage.database import create_database
from storage.errors import DatabaseProblem
from storage.migrate import current_revision, head_revision
from storage.readiness import sqlite_path, sqlite_write_problem

AUTH_DISABLED_BANNER = """
************************************************************************
*  MODELREG_AUTH=disabled: every request acts as an admin named       *
*  "anonymous". Anyone who can reach this port can change or delete   *
*  any model. Use this for local experiments only.                    *
************************************************************************
"""


def startup_problem(settings: Settings) -> str | None:
    """Why `modelreg serve` or `worker` must not start, in one line; None: it may.

    A read-only SQLite file is refused up front: every write, even the
    first admin token, would fail, so serving it would only look healthy.
    """
    path = sqlite_path(settings.database_url)
    if path is None or not path.exists():
        return None  # PostgreSQL (see /readyz), or a new file: the schema check says what to do
    problem = sqlite_write_problem(path)
    if problem is None or problem is DatabaseProblem.BUSY:
        return None  # a writer at work is not a reason to refuse
    if problem is DatabaseProblem.READ_ONLY:
        return (
            f"the database file {path} (or its directory) is read-only: modelreg writes to it; "
            "make it writable or set MODELREG_DATABASE_URL to a writable copy"
        )
    return f"cannot open the database file {path}: {problem}"


def secret_key_problem(settings: Settings) -> str | None:
    """Find the key for webhook secrets, making the key file on first start; None: found.

    Says so when it made one: the file must be backed up apart from the
    database, or the webhook secrets in a restored copy cannot be opened.
    """
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        return None  # no database yet: the schema check refuses it, and no stray key is made
    try:
        found = secret_keys(settings, settings.database_url)
    except SecretKeyProblem as problem:
        return str(problem)
    if found.created is not None:
        said = (
            f"A key for webhook secrets was created in {found.created} (mode 0600). Back it up "
            "apart from the database: without it webhook secrets cannot be opened."
        )
        if logs.format_of(settings) == "json":
            logging.getLogger("modelreg").warning(said, extra={"file": str(found.created)})
        else:
            print(said, file=sys.stderr, flush=True)
    return None


def curl_example(base_url: str, token: str) -> str:
    return (
        f"curl -s {base_url}/graphql -H 'authorization: Bearer {token}' "
        "-H 'content-type: application/json' -d '{\"query\": \"{ viewer { name role } }\"}'"
    )


async def _first_admin_token(settings: Settings) -> str | None:
    db = create_database(settings.database_url)
    try:
        # Not migrated yet: the server itself refuses to start and says why.
        if await current_revision(db.writer) != head_revision():
            return None
        issued = await bootstrap_admin_token(db)
        return issued.token if issued is not None else None
    finally:
        await db.dispose()


def announce(settings: Settings, host: str, port: int) -> None:
    """Print the auth state once, before the server processes start.

    With JSON logs nothing is printed: the banner is a log record, and the
    first admin token goes to a file that the log names (see admin_token_file).
    """
    if logs.format_of(settings) == "json":
        if settings.auth == "disabled":
            banner = " ".join(AUTH_DISABLED_BANNER.replace("*", " ").split())
            logging.getLogger("modelreg").warning(banner)
        else:
            write_first_admin_token(settings)
        return
    if settings.auth == "disabled":
        print(AUTH_DISABLED_BANNER, file=sys.stderr, flush=True)
        return
    token = asyncio.run(_first_admin_token(settings))
    if token is None:
        return
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    print(
        "\nThis registry had no API token, so an admin token named 'admin' was created.\n"
        "It is shown only this once; store it now (revoke it with "
        f"`{cli_command()} token revoke admin` once you have made your own):\n\n"
        f"    {token}\n\nTry it:\n\n    {curl_example(f'http://{shown_host}:{port}', token)}\n",
        flush=True,
    )
