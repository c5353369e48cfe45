"""Settings, read from the environment (prefix ``VEERKRACHT_``) and validated."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
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
    explorer: bool = True
    """Serve the map explorer (in Dutch) at /explorer."""

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
    """Most items an operation may touch: `first` multiplied down nested connections, list arguments
    (``ids``, ``representations``) by their length, introspection by the schema's types and fields."""
    max_fields: int = 2_000
    """Most fields an operation may select once its fragments are expanded (each spread counts in full)."""
    max_field_repeats: int = 20
    """Most times one response key may be selected in one selection set, its fragments' selections
    included (graphql-core's check that repeated fields agree is quadratic in this)."""
    max_list_length: int = 100
    """Longest list an ``ids`` or ``representations`` argument may give (like ``max_page_size``)."""

    max_websockets_per_client: int = 10
    """Most websockets one client address may have open on one server process; the next is closed at once
    with code 1008 and a reason saying so."""
    max_subscriptions_per_client: int = 20
    """Most subscriptions one client address may have open on one server process, over all its sockets;
    the next is refused with ``TOO_MANY_SUBSCRIPTIONS``."""

    max_page_size: int = 100
    """The largest ``first`` a connection accepts."""

    introspection: bool = True
    """Answer introspection queries (GraphiQL and code generators need them). When off, GraphQL's
    "Did you mean ...?" field suggestions are off too, so the schema cannot be guessed field by field."""

    max_body_bytes: int = 1_000_000
    """Largest request body accepted; a larger one is refused with 413 before it is read whole."""
    header_timeout_seconds: float = 10.0
    """A request's headers must have arrived this long after it began (or after the connection opened);
    otherwise 408 and the connection is closed (app/server.py: slow clients cannot hold connections)."""
    max_header_bytes: int = 65_536
    """Largest request head (request line and headers); larger is 431 and the connection is closed."""
    keep_alive_seconds: int = 5
    """An idle keep-alive connection is closed after this long (uvicorn's ``timeout_keep_alive``)."""
    request_timeout_seconds: float = 30.0
    """A request still running after this long is cancelled and answered with 504."""
    database_statement_timeout_seconds: float = 10.0
    """PostgreSQL cancels any statement running longer than this (``statement_timeout``)."""
    database_random_page_cost: float | None = 1.1
    """PostgreSQL's ``random_page_cost`` for the service's sessions (see ``app.db.session_settings``);
    unset (empty) keeps the server's value."""

    rate_limit_per_minute: int = 200_000
    """Query cost (see ``max_query_cost``) a token may spend per minute; each operation costs at least 1."""
    anonymous_rate_limit_per_minute: int = 60_000
    """Query cost a client address without a token may spend per minute."""
    redis_url: str | None = None
    """When set (``redis://host:6379/0``), rate limits are counted in Redis and shared by every instance;
    otherwise each process counts on its own."""
    redis_key_prefix: str = "veerkracht"
    """Prefix of the rate-limit keys in Redis (deployments sharing one Redis need different ones)."""
    trust_forwarded_for: bool = False
    """Take the client address from ``X-Forwarded-For`` (set this only behind a proxy that sets it)."""

    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    metrics: bool = True
    """Serve Prometheus metrics at /metrics."""
    metrics_token: SecretStr | None = None
    """When set, /metrics answers only ``Authorization: Bearer <this>`` (for the scraper); unset, it is
    public, or, with ``require_token_for_reads``, answers any API token."""
    shutdown_grace_seconds: int = 20
    """On SIGTERM, in-flight requests get this long to finish before the process exits."""

    response_cache: bool = True
    """Keep whole answers to queries and reuse them while no write has been committed (app/web/cache.py)."""
    response_cache_entries: int = 2000
    """Most answers kept per process (least recently used go first)."""
    response_cache_bytes: int = 64 * 1024 * 1024
    """Most bytes of answers kept per process (64 MiB); whichever bound is reached first evicts."""
    document_cache_bytes: int = 64 * 1024 * 1024
    """Most memory the parsed documents kept for reuse may take per process, in each of the parse,
    validation and prepared-read caches (a parsed document is counted as 101 bytes per character of its
    text: app/caches.py)."""

    compiled_reads: bool = True
    """Answer query root fields whose selection maps onto tables with one SQL statement each that builds
    the JSON in the database (schema/compiled); off: every field goes through the resolvers."""

    persisted_queries: bool = True
    """Automatic persisted queries (Apollo's ``extensions.persistedQuery``, over POST and GET):
    app/services/persisted.py."""
    persisted_queries_max_entries: int = 5000
    """Most documents the persisted-query store keeps per process (least recently used go first)."""
    persisted_queries_max_bytes: int = 5_000_000
    """Most bytes of documents the persisted-query store keeps per process."""
    trusted_documents: str | None = None
    """Path of an allow-list file (JSON: id -> document, as GraphQL Code Generator and Relay write it):
    when set, only its documents run (production mode); anything else is refused."""

    oidc_issuer: str | None = None
    """OpenID Connect: the ``iss`` of the identity provider whose access tokens (JWTs) are accepted next to
    the API tokens (app/services/oidc.py). OIDC is on when issuer, audience and JWKS URL are all set."""
    oidc_audience: str | None = None
    """The ``aud`` an access token must hold (the API's client id or resource name at the provider)."""
    oidc_jwks_url: str | None = None
    """Where the provider publishes its signing keys (the ``jwks_uri`` of its discovery document)."""
    oidc_scope_claim: str = "scope"
    """The claim that grants ``read`` and/or ``write`` (space-separated, or a list)."""
    oidc_jwks_cache_seconds: float = 300.0
    """How long fetched keys are used before the JWKS is fetched again."""
    oidc_jwks_refetch_seconds: float = 30.0
    """A token with an unknown ``kid`` (keys rotated) fetches the JWKS again, at most once per this long."""
    oidc_leeway_seconds: float = 30.0
    """Clock skew allowed on ``exp`` and ``nbf``."""
    webhook_key: SecretStr | None = None
    """The key webhook signing secrets are derived from (with a random salt per webhook, kept in the
    database): the database alone does not reveal them. Needed to create webhooks; changing it changes
    every webhook's secret (docs/webhooks.md)."""
    webhook_deliveries: bool = True
    """Run the webhook delivery loop in this process (one per process; instances share the work)."""
    webhook_allow_private_addresses: bool = False
    """Deliver to loopback, private, link-local and other non-public addresses too. Off: a webhook URL
    whose host is (or resolves to) such an address is refused, so that the service cannot be used to
    reach its own network (SSRF). Turn on only for tests and closed networks."""
    webhook_timeout_seconds: float = 10.0
    """How long one delivery may take (connecting, sending, the receiver's answer)."""
    webhook_backoff_seconds: float = 5.0
    """Wait before the first retry of a failed delivery; doubled on each further failure."""
    webhook_backoff_max_seconds: float = 3600.0
    """The longest wait between retries."""

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

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        given = {
            "oidc_issuer": self.oidc_issuer,
            "oidc_audience": self.oidc_audience,
            "oidc_jwks_url": self.oidc_jwks_url,
        }
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(
                "OIDC needs VEERKRACHT_OIDC_ISSUER, VEERKRACHT_OIDC_AUDIENCE and VEERKRACHT_OIDC_JWKS_URL "
                f"together; missing: {', '.join('VEERKRACHT_' + name.upper() for name in missing)}"
            )
        if self.oidc_jwks_url and not self.oidc_jwks_url.startswith(("https://", "http://")):
            raise ValueError("oidc_jwks_url must be an https:// (or http://) URL")
        return self

    @field_validator("max_page_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError("max_page_size must be between 1 and 1000")
        return value

    @field_validator("webhook_key", mode="before")
    @classmethod
    def _webhook_key(cls, value: object) -> object:
        """Empty is unset; a key short enough to guess is refused."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        secret = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if len(secret) < 16:
            raise ValueError("webhook_key must be at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("webhook_timeout_seconds", "webhook_backoff_seconds", "webhook_backoff_max_seconds")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("database_random_page_cost", mode="before")
    @classmethod
    def _page_cost(cls, value: object) -> object:
        """Empty: keep the server's value. Otherwise a positive number."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = float(value)  # type: ignore[arg-type]
        if not number > 0:
            raise ValueError("database_random_page_cost must be a positive number, or empty for the server's")
        return number
