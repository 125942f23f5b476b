"""Domain vocabularies stored as text columns."""

from enum import StrEnum


class Stage(StrEnum):
    NONE = "NONE"
    STAGING = "STAGING"
    PRODUCTION = "PRODUCTION"
    ARCHIVED = "ARCHIVED"


class ChangeCause(StrEnum):
    """Why a stage-history row exists."""

    TRANSITION = "transition"
    ROLLBACK = "rollback"
    APPROVAL = "approval"
    ARCHIVE_EXISTING = "archive_existing"
    # Copied from another registry (`modelreg import mlflow`).
    IMPORT = "import"


class AliasChangeCause(StrEnum):
    """Why an alias-history row exists."""

    SET = "set"
    DELETE = "delete"
    APPROVAL = "approval"
    FORCE = "force"
    # The version it pointed at was deleted, and the alias with it.
    VERSION_DELETED = "version_deleted"


class Role(StrEnum):
    """What a token may do; each role includes everything of the ones before it."""

    READER = "reader"
    WRITER = "writer"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_ORDER.index(self)


_ROLE_ORDER = (Role.READER, Role.WRITER, Role.MAINTAINER, Role.ADMIN)


class RequestStatus(StrEnum):
    """Where a transition request stands; only PENDING ever changes."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    STALE = "STALE"


class ReviewKind(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMMENTED = "COMMENTED"


class CheckStatus(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
