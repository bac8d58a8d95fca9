"""The session secret: signs CSRF and sign-in form tokens. Its own secret, never derived
from the audit key, so that whoever reads the audit key file cannot forge a form token;
sessions themselves are random tokens whose hashes sit in the database (services.users
.sessions), so forging a session needs write access to the database.

From TONGBAN_SESSION_SECRET, or a 0600 file (`session_secret_file`, by default
tongban-session.key beside the audit key file) that `tongban init` creates when neither
exists.
"""

from __future__ import annotations

from pathlib import Path

from ..audit.keys import parse_secret, write_secret_file
from ..core.config import Settings
from ..core.errors import ConfigurationError

SESSION_SECRET_FILE = "tongban-session.key"


def session_secret_path(settings: Settings) -> Path:
    if settings.session_secret_file is not None:
        return settings.session_secret_file
    return settings.audit_key_file.with_name(SESSION_SECRET_FILE)


def load_session_secret(settings: Settings) -> bytes:
    if settings.session_secret:
        return parse_secret(settings.session_secret, "TONGBAN_SESSION_SECRET", "会话密钥")
    path = session_secret_path(settings)
    if path.exists():
        return parse_secret(path.read_text(encoding="utf-8"), str(path), "会话密钥")
    raise ConfigurationError(
        f"未配置会话密钥：请设置 TONGBAN_SESSION_SECRET，或运行 `tongban init` 生成 {path}。",
        code="config.session_secret_missing",
    )


def ensure_session_secret(settings: Settings) -> bytes:
    """The configured secret, or a new one written to the secret file (0600)."""
    if not settings.session_secret and not session_secret_path(settings).exists():
        write_secret_file(session_secret_path(settings))
    return load_session_secret(settings)
