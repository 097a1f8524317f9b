"""Runtime configuration, read from `TSUNAGU_*` environment variables and an optional `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.content import SHIPPED_CONTENT_DIR

DEFAULT_CONTENT_DIR = SHIPPED_CONTENT_DIR
# The demo's LINE account (the emulator answers to this ID's referral links).
EMULATOR_LINE_ID = "@tsunagu"


class Settings(BaseSettings):
    """Everything deployment-specific. Secrets are `SecretStr` so they never print or log."""

    model_config = SettingsConfigDict(env_prefix="TSUNAGU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./tsunagu.db"
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    # The account's LINE ID as residents add it (a basic ID like @123abcde, or a premium ID):
    # the departments' referral links open its chat (console: 紹介用リンク). Unset: no links
    # (the emulator's demo account has EMULATOR_LINE_ID).
    line_id: str | None = Field(default=None, pattern=r"^@[0-9A-Za-z._-]{1,40}$")
    # When true the built-in LINE emulator is mounted at /emulator (demo and tests only).
    emulator: bool = False
    content_dir: Path = DEFAULT_CONTENT_DIR
    # LINE documents that a reply token must be used within one minute; keep a safety margin.
    reply_token_ttl_seconds: float = 50.0
    line_request_timeout_seconds: float = 10.0
    outbox_max_attempts: int = 12
    # A sender that died mid-send leaves its rows leased; another takes them after this. Longer
    # than any send (the request timeout), or a slow send could be taken twice.
    outbox_lease_seconds: float = 60.0
    worker_poll_seconds: float = 1.0
    # Process events and send answers in a child process of `tsunagu serve`, so the webhook
    # answers LINE from a process (and a GIL) of its own and a second core does the work.
    worker_process: bool = False
    # False: this process serves HTTP only (webhook, console, /healthz, /metrics) and separate
    # `tsunagu worker` processes do the background work (compose's and Kubernetes' layout).
    run_worker: bool = True
    followup_interval_seconds: float = 30.0  # how often each process looks for due follow-ups
    # How often each process looks for waiting residents to tell of a material change (the
    # content's desk.waiting rules decide who is due; this only sets how soon it is noticed).
    wait_update_interval_seconds: float = 60.0
    # Console pages are told of changes (LISTEN/NOTIFY on PostgreSQL); they also re-check
    # this often on their own, in case a signal was missed.
    live_fallback_seconds: float = 15.0
    retention_check_seconds: float = 3600.0  # how often expired personal data is erased
    # An imminent case nobody acknowledged in time (content: desk.emergency) is posted to this
    # on-call address (a LINE WORKS, Teams or Slack incoming webhook, or any HTTPS endpoint),
    # signed with the secret (X-Tsunagu-Signature: sha256=HMAC of the body). Unset: the alert
    # stays in the console only, and the log says so once per alert.
    oncall_webhook_url: str | None = None
    oncall_webhook_secret: SecretStr | None = None
    emergency_check_seconds: float = 30.0  # how often each process looks for alerts to escalate
    # The console's address as staff open it (https://tsunagu.example.jp): the on-call alert
    # links to the case. Unset: the alert carries no link.
    console_public_url: str | None = None
    content_check_seconds: float = 30.0  # how often a process looks for a newer release
    log_level: str = "INFO"
    # Signs console session cookies. Unset: a random one per process (logins do not survive a
    # restart and several processes would not share them), with a warning.
    session_secret: SecretStr | None = None
    secure_cookies: bool = False  # set true behind HTTPS
    # Console sessions and logins (handoff/sessions.py, handoff/logins.py): a session ends
    # after this long without a request, or this long after the login; at most this many
    # password checks at once per process (0: one per CPU); failed logins from one address in
    # ten minutes before that address must wait.
    console_idle_minutes: float = 60.0
    console_session_hours: float = 8.0
    login_concurrency: int = 0
    login_address_failures: int = 20

    # The edge (bot/platform/server.py): what an anonymous caller can make the server hold or tell.
    # LINE's webhook bodies are a few kilobytes (at most a few hundred events).
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=1)
    # Every other request body: the console's forms, the largest being an administrator's
    # content file edit (today's largest file, about 100 kB, is about 300 kB form-encoded).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    # A request body must have arrived completely this long after the app asked for it.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # The request line and headers: at most this many bytes, complete within this time.
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Connections and tasks at once; more are answered 503 at once (uvicorn's limit).
    limit_concurrency: int = Field(default=1000, ge=1)
    keep_alive_seconds: int = Field(default=5, ge=1)  # idle keep-alive connections
    # Only these peers' X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks): the balancer's address. Never "*" unless nothing else can
    # reach the server.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # /docs, /redoc and /openapi.json. Off in production (they map every route); the demo
    # turns them on.
    api_docs: bool = False
    # GET /metrics answers only with `Authorization: Bearer <this>`; unset: /metrics is 404.
    metrics_token: SecretStr | None = None

    @model_validator(mode="after")
    def _require_channel_outside_emulator(self) -> Settings:
        # A real deployment without credentials would accept nothing and answer no one.
        if not self.emulator and (not self.secret.strip() or not self.access_token.strip()):
            raise ValueError(
                "TSUNAGU_LINE_CHANNEL_SECRET and TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN must be set "
                "(or run `tsunagu demo`, which uses the built-in LINE emulator)"
            )
        return self

    @property
    def account_line_id(self) -> str | None:
        """The LINE ID the referral links open: the setting, else the emulator's."""
        return self.line_id or (EMULATOR_LINE_ID if self.emulator else None)

    @property
    def secret(self) -> str:
        return self.line_channel_secret.get_secret_value() if self.line_channel_secret else ""

    @property
    def access_token(self) -> str:
        token = self.line_channel_access_token
        return token.get_secret_value() if token else ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
