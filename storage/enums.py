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
