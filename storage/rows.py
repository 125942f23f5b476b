"""A type for result rows of any shape (SQLAlchemy 2.1 types rows by their columns)."""

from typing import Any

from sqlalchemy.engine import Row

AnyRow = Row[*tuple[Any, ...]]
