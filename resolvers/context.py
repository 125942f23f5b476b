"""What every resolver gets for one request."""

from __future__ import annotations

from dataclasses import dataclass, field

from resolvers.loaders import Loaders
from storage.database import Database

ANONYMOUS = "anonymous"


@dataclass(slots=True)
class RequestContext:
    """The database, the acting principal and this request's DataLoaders."""

    db: Database
    actor: str = ANONYMOUS
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)
