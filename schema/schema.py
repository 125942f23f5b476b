"""The Schema object. `python -m schema.export` writes schema.graphql from it."""

import strawberry

from schema.mutation import Mutation
from schema.query import Query

schema = strawberry.Schema(query=Query, mutation=Mutation)
