"""Settings from the environment (TONGBAN_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="ignore")

    # Default: a SQLite file in the working directory (see models.db for how it is opened).
    database_url: str = "sqlite:///tongban.db"
    # The audit chain key, hex. When unset, read from `audit_key_file`; `tongban init`
    # generates that file (mode 0600) when neither exists.
    audit_key: str | None = None
    audit_key_file: Path = Path("tongban-audit.key")
    # "production" logs JSON whatever the terminal; "development" logs for people on a TTY.
    env: str = "development"
    log_level: str = "INFO"
    # Whether a window may receive an item whose guide is still the default template (the
    # clerk confirms each time); False refuses such receipts outright.
    allow_default_guides: bool = True
    # Threads per server process for blocking request handlers (database work).
    request_threads: int = Field(default=4, ge=1, le=64)

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

    # --- scanned materials (services.files) ---
    # The content-addressed blob store: one file per SHA-256, created with mode 0700.
    files_dir: Path = Path("tongban-files")
    # The largest file a clerk may upload (413 above it); 20 MiB by default.
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    # `tongban files gc` removes unreferenced blobs older than this (an upload in flight
    # writes its blob before its row commits).
    files_gc_grace_hours: float = Field(default=24, ge=0)
