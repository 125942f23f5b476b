"""The first admin token when logs are JSON: written to a 0600 file, never to the log.

Logs go to collectors that many people read; a token there is a token
leaked. So with JSON logs the first start writes the token to
`<database file>.admin-token` (or MODELREG_ADMIN_TOKEN_FILE) and logs only
where it is. The file is created exclusively (O_EXCL, mode 0600): an
existing file, or one that a symlink points at, is never overwritten.
"""

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from resolvers.tokens import BOOTSTRAP_NAME, bootstrap_admin_token
from server.invocation import cli_command
from server.settings import Settings
from storage.database import Database, create_database
from storage.migrate import current_revision, head_revision
from storage.queries.tokens import any_token_exists
from storage.readiness import sqlite_path

logger = logging.getLogger("modelreg")


def admin_token_path(settings: Settings) -> Path | None:
    """Where the first admin token goes; None on PostgreSQL unless a file is named."""
    if settings.admin_token_file is not None:
        return settings.admin_token_file
    database = sqlite_path(settings.database_url)
    return Path(f"{database}.admin-token") if database is not None else None


def write_first_admin_token(settings: Settings) -> Path | None:
    """Make the first admin token into its file, on a registry that has no token.

    Returns the file written, None when nothing was (a token exists, or the
    log says why none could be made).
    """
    return asyncio.run(_write(settings))


async def _write(settings: Settings) -> Path | None:
    db = create_database(settings.database_url)
    try:
        if await current_revision(db.writer) != head_revision() or await _has_token(db):
            return None
        path = admin_token_path(settings)
        create = f"`{cli_command()} token create --name NAME --role admin`"
        if path is None:
            logger.warning(
                "this registry has no API token: make one with %s, or set "
                "MODELREG_ADMIN_TOKEN_FILE for the first start to write one there",
                create,
            )
            return None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            logger.warning(
                "this registry has no API token, and %s exists, so none was made: if a "
                "replica starting at the same time wrote it, the token is there; otherwise "
                "remove the file and start again, or make a token with %s",
                path,
                create,
                extra={"file": str(path)},
            )
            return None
        except OSError as error:
            logger.error(
                "this registry has no API token, and none was made: cannot create %s (%s)",
                path,
                error.strerror,
                extra={"file": str(path)},
            )
            return None
        with os.fdopen(fd, "w") as file:
            issued = await bootstrap_admin_token(db)
            if issued is not None:
                file.write(issued.token + "\n")
                file.flush()
                os.fsync(file.fileno())
        if issued is None:  # another replica made it between our check and our insert
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        logger.warning(
            "this registry had no API token, so an admin token named '%s' was created and "
            "written to %s (mode 0600): read it from there, and revoke it with "
            "`%s token revoke %s` once you have made your own",
            BOOTSTRAP_NAME,
            path,
            cli_command(),
            BOOTSTRAP_NAME,
            extra={"file": str(path)},
        )
        return path
    finally:
        await db.dispose()


async def _has_token(db: Database) -> bool:
    async with db.read() as conn:
        return await any_token_exists(conn)
