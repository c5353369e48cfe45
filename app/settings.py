"""Settings, read from the environment (prefix ``VEERKRACHT_``) and validated."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./veerkracht.db"

_DRIVER_ALIASES = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class Settings(BaseSettings):
    """Everything the service can be configured with."""

    model_config = SettingsConfigDict(env_prefix="VEERKRACHT_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL. ``sqlite:///`` and ``postgresql://`` are accepted and get the async driver."""

    environment: Literal["development", "production"] = "development"
    graphiql: bool = True
    """Serve the GraphiQL explorer at /graphql to browsers."""

    require_token_for_reads: bool = False
    """Reads are public by default; when true, queries need a token too (read or write scope)."""

    change_poll_seconds: float = 5.0
    """Subscriptions are woken by commits (PostgreSQL NOTIFY, or in-process on SQLite); they also look
    at the change log this often, in case a notification was missed while a listener reconnected."""

    max_query_depth: int = 15
    """Deepest nesting of fields an operation may have (Strawberry's QueryDepthLimiter)."""
    max_aliases: int = 30
    """Most aliases in one document."""
    max_tokens: int = 5000
    """Most lexical tokens in one document (GraphiQL's introspection query has about 400)."""
    max_query_cost: int = 50_000
    """Most items an operation may touch: `first` multiplied down nested connections."""

    max_page_size: int = 100
    """The largest ``first`` a connection accepts."""

    sql_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError(f"database_url {value!r} is not a URL such as {DEFAULT_DATABASE_URL!r}")
        scheme = _DRIVER_ALIASES.get(scheme, scheme)
        if scheme not in _SUPPORTED_DRIVERS:
            raise ValueError(
                f"database_url scheme {scheme!r} is not supported; use sqlite+aiosqlite:// "
                "(embedded default) or postgresql+asyncpg:// (production)"
            )
        return f"{scheme}://{rest}"

    @field_validator("max_page_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError("max_page_size must be between 1 and 1000")
        return value
