"""The Schema object. `python -m schema.export` writes schema.graphql from it."""

import strawberry
from strawberry.types.base import get_object_definition

from schema.argument_checks import CheckedArguments
from schema.audit import AuditedMutation
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

for _field in get_object_definition(Mutation, strict=True).fields:
    _field.extensions.append(AuditedMutation())

# Extensions listed first run innermost: arguments are checked inside the audit
# extension, so a refused mutation is audited.
for _root in (Query, Mutation):
    for _field in get_object_definition(_root, strict=True).fields:
        if _field.arguments:
            _field.extensions.insert(0, CheckedArguments())

schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
