"""Settings from the environment (TONGBAN_*)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="ignore")

    # Default: a SQLite file in the working directory (WAL on, see models.db).
    database_url: str = "sqlite:///tongban.db"
    # The audit chain key, hex. When unset, read from `audit_key_file`; `tongban init`
    # generates that file (mode 0600) when neither exists.
    audit_key: str | None = None
    audit_key_file: Path = Path("tongban-audit.key")
    # "production" logs JSON whatever the terminal; "development" logs for people on a TTY.
    env: str = "development"
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
