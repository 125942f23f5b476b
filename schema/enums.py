"""GraphQL enums (UPPER_CASE), backed by the storage vocabularies."""

from enum import Enum

import strawberry

from storage.enums import AliasChangeCause, ChangeCause, CheckStatus, RequestStatus, Role, Stage
from storage.queries.models import ModelOrder

# Registers the storage enum itself, so resolvers get and give `Stage` unchanged.
strawberry.enum(Stage, name="Stage", description="Lifecycle stage of a version.")
strawberry.enum(
    RequestStatus,
    name="TransitionRequestStatus",
    description="Where a transition request stands; only PENDING ever changes.",
)
strawberry.enum(CheckStatus, name="CheckStatus", description="What a CI check reported.")
strawberry.enum(
    Role,
    name="Role",
    description="READER: all queries. WRITER: + register, tag, alias, describe, stage versions "
    "not in PRODUCTION to NONE/STAGING/ARCHIVED, request transitions, report checks. "
    "MAINTAINER: + approve, reject, into and out of PRODUCTION, rollback, delete. ADMIN: + "
    "tokens, webhooks, stage and alias policies, force, audit log.",
)

__all__ = [
    "AliasMoveCause",
    "CheckStatus",
    "ModelOrderField",
    "OrderDirection",
    "RequestStatus",
    "Role",
    "Stage",
    "StageChangeCause",
]


@strawberry.enum(description="Why a stage change happened.")
class StageChangeCause(Enum):
    TRANSITION = ChangeCause.TRANSITION.value
    ROLLBACK = ChangeCause.ROLLBACK.value
    APPROVAL = ChangeCause.APPROVAL.value
    ARCHIVE_EXISTING = ChangeCause.ARCHIVE_EXISTING.value
    IMPORT = ChangeCause.IMPORT.value


@strawberry.enum(description="Why an alias moved.")
class AliasMoveCause(Enum):
    SET = AliasChangeCause.SET.value
    DELETE = AliasChangeCause.DELETE.value
    APPROVAL = AliasChangeCause.APPROVAL.value
    FORCE = AliasChangeCause.FORCE.value
    VERSION_DELETED = AliasChangeCause.VERSION_DELETED.value


@strawberry.enum(description="What a list of models is sorted by.")
class ModelOrderField(Enum):
    NAME = ModelOrder.NAME.value
    CREATED_AT = ModelOrder.CREATED_AT.value
    UPDATED_AT = ModelOrder.UPDATED_AT.value


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"
