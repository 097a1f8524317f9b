"""Runtime configuration, read from `TSUNAGU_*` environment variables and an optional `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"


class Settings(BaseSettings):
    """Everything deployment-specific. Secrets are `SecretStr` so they never print or log."""

    model_config = SettingsConfigDict(env_prefix="TSUNAGU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./tsunagu.db"
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
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
    followup_interval_seconds: float = 30.0  # how often each process looks for due follow-ups
    # Console pages are told of changes (LISTEN/NOTIFY on PostgreSQL); they also re-check
    # this often on their own, in case a signal was missed.
    live_fallback_seconds: float = 15.0
    retention_check_seconds: float = 3600.0  # how often expired personal data is erased
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

    @model_validator(mode="after")
    def _require_channel_outside_emulator(self) -> Settings:
        # A real deployment without credentials would accept nothing and answer no one.
        if not self.emulator and (not self.secret or not self.access_token):
            raise ValueError(
                "TSUNAGU_LINE_CHANNEL_SECRET and TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN must be set "
                "(or run `tsunagu demo`, which uses the built-in LINE emulator)"
            )
        return self

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
