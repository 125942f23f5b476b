"""Defaults that light modules need without importing the database layer."""

# The embedded default: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./modelreg.db"
