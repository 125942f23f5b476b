"""Expected failures, each with the stable code clients see in `extensions.code`."""

from typing import Any, ClassVar


class RegistryError(Exception):
    """A failure the caller can act on; never masked, always changes nothing."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        # graphql-core copies `extensions` of the original error into the response.
        return {"code": self.code, **self.details}


class BadUserInput(RegistryError):
    code = "BAD_USER_INPUT"


class NotFound(RegistryError):
    code = "NOT_FOUND"


class Conflict(RegistryError):
    code = "CONFLICT"


class InvalidTransition(RegistryError):
    code = "INVALID_TRANSITION"


class Unauthenticated(RegistryError):
    """No valid token: missing, malformed, unknown, expired or revoked."""

    code = "UNAUTHENTICATED"


class Forbidden(RegistryError):
    """A valid token whose role or model patterns do not cover the call."""

    code = "FORBIDDEN"


class ApprovalRequired(RegistryError):
    """The stage policy wants approvals or checks that this call does not have."""

    code = "APPROVAL_REQUIRED"
