"""Settings from the environment (TONGBAN_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="ignore")

    # Default: a SQLite file in the working directory (see models.db for how it is opened).
    database_url: str = "sqlite:///tongban.db"
    # The audit chain key, hex. When unset, read from `audit_key_file`; `tongban init`
    # generates that file (mode 0600) when neither exists.
    audit_key: str | None = None
    audit_key_file: Path = Path("tongban-audit.key")
    # The secret that signs CSRF and sign-in form tokens, hex; never derived from the audit
    # key. When unset, read from `session_secret_file` (default: tongban-session.key beside
    # the audit key file), which `tongban init` creates (mode 0600) when neither exists.
    session_secret: str | None = None
    session_secret_file: Path | None = None
    # "production" logs JSON whatever the terminal; "development" logs for people on a TTY.
    env: str = "development"
    log_level: str = "INFO"
    # Whether a window may receive an item whose guide is still the default template (the
    # clerk confirms each time); False refuses such receipts outright.
    allow_default_guides: bool = True
    # Database faults: how long to wait for a new connection (PostgreSQL connect timeout),
    # for a statement (PostgreSQL statement_timeout) and for a free connection of the pool;
    # past them a request answers 503 with Retry-After `db_retry_after_seconds`.
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_statement_timeout_seconds: int = Field(default=30, ge=1)
    db_pool_timeout_seconds: int = Field(default=10, ge=1)
    db_retry_after_seconds: int = Field(default=5, ge=1)
    # How long an Idempotency-Key's first answer is kept and replayed to retries.
    idempotency_ttl_hours: float = Field(default=24, gt=0)
    # Threads per server process for blocking request handlers (database work).
    request_threads: int = Field(default=4, ge=1, le=64)

    # --- sign-in and sessions ---
    # A session ends after this many minutes without a request, and this many hours after
    # sign-in whatever happens.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_lifetime_hours: int = Field(default=8, ge=1)
    # Failed sign-ins per username and per client address: after `*_free` failures each one
    # doubles the wait before the next try (2 s, 4 s, 8 s ...); at `*_lock` failures the
    # username or address is locked for `signin_lock_minutes` and the admin is alerted.
    # Failures older than `signin_lock_minutes` are forgotten.
    signin_user_free: int = Field(default=5, ge=1)
    signin_user_lock: int = Field(default=10, ge=2)
    signin_address_free: int = Field(default=20, ge=1)
    signin_address_lock: int = Field(default=50, ge=2)
    signin_lock_minutes: int = Field(default=15, ge=1)

    # --- deadlines (办理时限) and alerts ---
    # Share of a stage's working time after which it warns (预警), e.g. 0.75; default 2/3.
    warning_share: float = Field(default=2 / 3, gt=0, le=1)
    # Working days after the overdue alert (超期) between escalations to supervisors;
    # 0 sends the overdue alert only.
    escalation_days: int = Field(default=2, ge=0)
    # The sweeper: how often it runs in `tongban worker` / `tongban serve`, and how many
    # deadlines it claims per transaction.
    sweep_interval_seconds: int = Field(default=60, ge=1)
    sweep_batch: int = Field(default=500, ge=1)
    # A unit with waiting cases and no sign-in, inbox view or action for this many working
    # days is reported to its region's supervisors (长时间无人登录、无人查看、无人办理).
    unattended_days: int = Field(default=3, ge=1)
    # Notifications: the outbox channel new messages go to ("log" writes a log line), how
    # many sends to try, and the first retry delay (doubling each time, capped at 1 hour).
    notify_channel: str = "log"
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_retry_seconds: int = Field(default=60, ge=1)

    # --- documents (文书) ---
    # Where applicants look their case up; the receipt's QR code is {public_url}/lookup/{no}.
    public_url: str = "http://127.0.0.1:8000"
    # The document seal (电子印章): a PKCS#12 file and its password. When unset, the demo
    # seal `tongban init` creates beside the audit key file (tongban-seal.p12) is used.
    seal_p12: Path | None = None
    seal_password: SecretStr | None = None

    # --- scanned materials (services.files) ---
    # The content-addressed blob store: one file per SHA-256, created with mode 0700.
    files_dir: Path = Path("tongban-files")
    # The largest file a clerk may upload (413 above it); 20 MiB by default.
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    # `tongban files gc` removes unreferenced blobs older than this (an upload in flight
    # writes its blob before its row commits).
    files_gc_grace_hours: float = Field(default=24, ge=0)
