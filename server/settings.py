"""All settings, from MODELREG_* environment variables (the only place that reads them)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.database import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELREG_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite+aiosqlite:///path.db (default ./modelreg.db) or "
        "postgresql+asyncpg://user@host/db",
    )
    url: str = Field(
        default="http://127.0.0.1:8000", description="the registry the CI commands talk to"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=10, ge=1, description="connections per process")
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    graphiql: bool = Field(default=True, description="serve GraphiQL on GET /graphql")
    log_level: str = "info"
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
