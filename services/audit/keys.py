"""The audit chain's key: from TONGBAN_AUDIT_KEY or a 0600 key file that `tongban init`
creates when neither exists."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Settings
from ..core.errors import ConfigurationError


@dataclass(frozen=True)
class AuditKey:
    secret: bytes
    # A fingerprint stored with each event: which key signed it (not the key itself).
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        fingerprint = hashlib.sha256(b"tongban-audit-key-id:" + self.secret).hexdigest()[:16]
        object.__setattr__(self, "key_id", fingerprint)


def parse_secret(text: str, where: str, what: str) -> bytes:
    """A hex secret of at least 16 bytes, or ConfigurationError naming `where` and `what`."""
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError(f"{where}：{what}应为十六进制字符串。") from None
    if len(secret) < 16:
        raise ConfigurationError(f"{where}：{what}太短（至少16字节，即32个十六进制字符）。")
    return secret


def _parse_key(text: str, where: str) -> AuditKey:
    return AuditKey(parse_secret(text, where, "审计密钥"))


def load_audit_key(settings: Settings) -> AuditKey:
    if settings.audit_key:
        return _parse_key(settings.audit_key, "TONGBAN_AUDIT_KEY")
    path = settings.audit_key_file
    if path.exists():
        return _parse_key(path.read_text(encoding="utf-8"), str(path))
    raise ConfigurationError(
        f"未配置审计密钥：请设置 TONGBAN_AUDIT_KEY，或运行 `tongban init` 生成 {path}。",
        code="config.audit_key_missing",
    )


def write_secret_file(path: Path) -> None:
    """A new random 32-byte secret, hex, in a file only its owner can read or write (0600
    whatever the umask; never over an existing file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def ensure_audit_key(settings: Settings) -> AuditKey:
    """The configured key, or a new one written to the key file (0600)."""
    if settings.audit_key or settings.audit_key_file.exists():
        return load_audit_key(settings)
    write_secret_file(settings.audit_key_file)
    return load_audit_key(settings)
