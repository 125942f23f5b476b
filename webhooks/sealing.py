"""Webhook secrets at rest: Fernet-encrypted with the operator's key.

A stored secret says how it was stored, so rows written by older versions
keep opening and nothing is ever misread:

- `fernet2:<salt>:<token>` what is written now. The Fernet key is the
  configured key itself when it is one (`Fernet.generate_key()`, as the key
  file holds), else scrypt(passphrase, salt); the salt is empty for the former.
- `fernet:<token>` written before: a Fernet key as given, or one unsalted
  SHA-256 of the passphrase. Opened, never written.
- `plain:<secret>` written before, when no key was configured. Opened, never written.

Keys come current first, then previous ones (rotation): opening tries each,
sealing uses the current one; `modelreg secrets reseal` moves old rows over.
"""

import base64
import binascii
import functools
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SEALED = "fernet2:"
_LEGACY_FERNET = "fernet:"
_PLAIN = "plain:"
# scrypt at n=2^15, r=8 (32 MiB): ~85 ms here, once per key and salt per process.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_SALT_BYTES = 16
_MAX_SALTS = 256  # derived keys kept per box: a bound, whatever the table holds


class SecretUnavailable(Exception):
    """A sealed secret cannot be opened (no key, or the wrong one)."""


def _as_fernet_key(key: str) -> Fernet | None:
    try:
        return Fernet(key.encode())
    except (ValueError, binascii.Error):
        return None


@functools.lru_cache(maxsize=64)
def _derived(passphrase: str, salt: bytes) -> Fernet:
    """scrypt is deliberately slow: every process derives a (passphrase, salt) once."""
    kdf = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))


def _legacy(key: str) -> Fernet:
    return _as_fernet_key(key) or Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SecretBox:
    """Seals webhook secrets with the current key; opens them with any configured key."""

    def __init__(self, keys: Sequence[str]) -> None:
        """`keys`: the current key first, then previous ones that may still have sealed rows."""
        self._keys = tuple(key for key in keys if key)
        # One salt per box: a passphrase costs one derivation here, not one per secret.
        self._salt = secrets.token_bytes(_SALT_BYTES)
        self._openers: dict[bytes, MultiFernet] = {}
        self._legacy = MultiFernet([_legacy(key) for key in self._keys]) if self._keys else None

    @property
    def has_key(self) -> bool:
        return bool(self._keys)

    def _fernet(self, key: str, salt: bytes) -> Fernet:
        raw = _as_fernet_key(key)
        if raw is not None:
            return raw
        return _derived(key, salt)

    def seal(self, secret: str) -> str:
        if not self._keys:
            raise SecretUnavailable("no key for webhook secrets: set MODELREG_SECRET_KEY")
        current = self._keys[0]
        salt = b"" if _as_fernet_key(current) is not None else self._salt
        token = self._fernet(current, salt).encrypt(secret.encode()).decode()
        return f"{SEALED}{_b64(salt)}:{token}"

    def open(self, sealed: str) -> str:
        if sealed.startswith(_PLAIN):
            return sealed.removeprefix(_PLAIN)
        if sealed.startswith(SEALED):
            salt_text, _, token = sealed.removeprefix(SEALED).partition(":")
            try:
                salt = _unb64(salt_text)
            except (ValueError, binascii.Error):
                raise SecretUnavailable("stored secret has an unknown format") from None
            return self._decrypt(self._opener(salt), token)
        if sealed.startswith(_LEGACY_FERNET):
            return self._decrypt(self._legacy, sealed.removeprefix(_LEGACY_FERNET))
        raise SecretUnavailable("stored secret has an unknown format")

    def _opener(self, salt: bytes) -> MultiFernet | None:
        if not self._keys:
            return None
        opener = self._openers.get(salt)
        if opener is None:
            if len(self._openers) >= _MAX_SALTS:
                self._openers.clear()
            opener = MultiFernet([self._fernet(key, salt) for key in self._keys])
            self._openers[salt] = opener
        return opener

    @staticmethod
    def _decrypt(opener: MultiFernet | None, token: str) -> str:
        if opener is None:
            raise SecretUnavailable("secret is encrypted; set MODELREG_SECRET_KEY to use it")
        try:
            return opener.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnavailable(
                "secret was encrypted with a key that is not configured: set "
                "MODELREG_SECRET_KEY_PREVIOUS to the key it was sealed with"
            ) from None


def live_secrets(
    box: SecretBox,
    sealed: str,
    previous: str | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> list[str]:
    """The secrets that sign a message now: the current one, then the previous
    one while its rotation overlap lasts (deliveries and `testWebhook` alike)."""
    opened = [box.open(sealed)]
    if previous and previous_expires_at is not None and previous_expires_at > now:
        opened.append(box.open(previous))
    return opened
