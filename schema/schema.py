"""The Schema object. `python -m schema.export` writes schema.graphql from it."""

import strawberry
from strawberry.types.base import get_object_definition

from schema.audit import AuditedMutation
from schema.mutation import Mutation
from schema.query import Query

for _field in get_object_definition(Mutation, strict=True).fields:
    _field.extensions.append(AuditedMutation())

schema = strawberry.Schema(query=Query, mutation=Mutation)
