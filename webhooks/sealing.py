"""Webhook secrets at rest: Fernet-encrypted when MODELREG_SECRET_KEY is set.

A stored secret says how it was stored (`fernet:` or `plain:`), so a database
written with a key is never misread without one, and a key can be added later:
old plain secrets keep working and new ones are encrypted.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_FERNET = "fernet:"
_PLAIN = "plain:"


class SecretUnavailable(Exception):
    """A sealed secret cannot be opened (no key, or the wrong one)."""


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Not a Fernet key: derive one, so any long passphrase works as the key.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    """Seals and opens webhook secrets with the operator's key (or none)."""

    def __init__(self, key: str | None) -> None:
        self._fernet = _fernet(key) if key else None

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return _PLAIN + secret
        return _FERNET + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if sealed.startswith(_PLAIN):
            return sealed.removeprefix(_PLAIN)
        if not sealed.startswith(_FERNET):
            raise SecretUnavailable("stored secret has an unknown format")
        if self._fernet is None:
            raise SecretUnavailable("secret is encrypted; set MODELREG_SECRET_KEY to use it")
        try:
            return self._fernet.decrypt(sealed.removeprefix(_FERNET).encode()).decode()
        except InvalidToken:
            raise SecretUnavailable("secret was encrypted with a different key") from None
