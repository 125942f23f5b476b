"""Which keys seal webhook secrets at rest; on first start, a key file made for them.

- `MODELREG_SECRET_KEY`: used as given (a Fernet key, or a passphrase for scrypt).
- `MODELREG_SECRET_KEY_FILE`: read from there; with SQLite created there when missing.
- Neither, SQLite: `<database file>.key`, created on first start with mode 0600.
- Neither, PostgreSQL: refused. Replicas on several machines must share one
  key, and a file made on each machine would give each its own: secrets one
  replica sealed could not be opened by the others, and their deliveries would
  fail to sign. Refusing at start is the only place that mistake is cheap.
- In-memory SQLite: a key for this process, which is all the database lives for.

`MODELREG_SECRET_KEY_PREVIOUS` adds the keys that sealed older rows (rotation).
"""

import functools
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from server.settings import Settings

logger = logging.getLogger("modelreg")


class SecretKeyProblem(Exception):
    """The key for webhook secrets cannot be had; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class SecretKeys:
    keys: tuple[str, ...]  # the current key first, then previous ones
    created: Path | None = None  # the key file this call made, if it made one


def default_key_file(database_url: str) -> Path | None:
    """`<database file>.key` for a SQLite file; None for PostgreSQL and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}.key")


def _read(path: Path) -> str:
    try:
        key = path.read_text().strip()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        raise SecretKeyProblem(f"cannot read the key file {path}: {error.strerror}") from None
    if not key:
        raise SecretKeyProblem(f"the key file {path} is empty")
    if mode & 0o077:
        logger.warning("the key file %s is readable by others (mode %o): chmod 600 it", path, mode)
    return key


def read_or_create(path: Path) -> tuple[str, bool]:
    """The key in `path`, made there first if there is none; (key, whether it was made).

    Replicas starting at once agree on one key: each writes a private temporary
    file (O_EXCL, 0600) and links it into place, which fails when another got
    there first; a reader never sees a half-written key.
    """
    if path.exists():
        return _read(path), False
    key = Fernet.generate_key()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, key + b"\n")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path), False
    except OSError as error:
        raise SecretKeyProblem(f"cannot create the key file {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return key.decode(), True


@functools.cache
def _process_key() -> str:
    return Fernet.generate_key().decode()


def secret_keys(settings: Settings, database_url: str) -> SecretKeys:
    """The keys for the database at `database_url`; raises SecretKeyProblem with the reason."""
    previous = tuple(settings.secret_key_previous)
    if settings.secret_key and settings.secret_key_file:
        raise SecretKeyProblem("set MODELREG_SECRET_KEY or MODELREG_SECRET_KEY_FILE, not both")
    if settings.secret_key:
        return SecretKeys((settings.secret_key, *previous))
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        path = settings.secret_key_file
        if path is None:
            raise SecretKeyProblem(
                "with PostgreSQL set MODELREG_SECRET_KEY or MODELREG_SECRET_KEY_FILE, the same "
                "on every serve and worker: webhook secrets are encrypted with it"
            )
        if not path.exists():
            raise SecretKeyProblem(
                f"the key file {path} (MODELREG_SECRET_KEY_FILE) does not exist; with "
                "PostgreSQL it is not made here, every replica must share one: create it "
                "with `modelreg secrets generate-key > FILE`"
            )
        return SecretKeys((_read(path), *previous))
    path = settings.secret_key_file or default_key_file(database_url)
    if path is None:
        return SecretKeys((_process_key(), *previous))
    key, created = read_or_create(path)
    return SecretKeys((key, *previous), created=path if created else None)
