"""Session tokens and CSRF tokens: HMAC-signed, expiring, nothing stored in plaintext.

A session token is `itsdangerous`-signed JSON {u: username, n: nonce} with its issue time;
it is accepted for SESSION_MAX_AGE. The same token travels as `Authorization: Bearer ...`
(API clients) or in an HttpOnly cookie (the workbench). A request authenticated by the
cookie and changing something must also carry the session's CSRF token (form field
`csrf_token` or header `X-CSRF-Token`): an HMAC of the session nonce, which another site
cannot read or compute.

The signing keys are derived from the audit key (HMAC-SHA256 over a fixed label, one per
purpose), so a deployment has one secret to keep and the audit key itself never signs a
session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tongban.services.audit.keys import AuditKey
from tongban.services.core.errors import ScopeDenied, Unauthenticated

SESSION_COOKIE = "tongban_session"
# Login CSRF: the sign-in form carries an HMAC of a random value kept in this cookie, so
# another site cannot sign a person in under its own account.
LOGIN_COOKIE = "tongban_login"
LOGIN_FIELD = "login_token"
LOGIN_MAX_AGE = timedelta(hours=1)
SESSION_MAX_AGE = timedelta(hours=8)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_TOKEN_CHARS = 1024


def derive_key(key: AuditKey, purpose: str) -> bytes:
    """A key for one purpose, HKDF-expand style: HMAC(audit key, label)."""
    return hmac.new(key.secret, f"tongban/{purpose}/v1".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Claims:
    username: str
    nonce: str
    issued_at: datetime
    via_cookie: bool = False

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + SESSION_MAX_AGE


class Tokens:
    def __init__(self, key: AuditKey, *, max_age: timedelta = SESSION_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(
            derive_key(key, "session-token"), salt="tongban.session"
        )
        self._csrf_key = derive_key(key, "csrf")
        self.max_age = max_age

    def issue(self, username: str) -> tuple[str, Claims]:
        nonce = secrets.token_urlsafe(16)
        token = self._serializer.dumps({"u": username, "n": nonce})
        claims = self.read(token)
        return token, claims

    def read(self, token: str, *, via_cookie: bool = False) -> Claims:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("登录凭证无效，请重新登录。", code="auth.invalid")
        try:
            data: Any
            data, signed_at = self._serializer.loads(
                token, max_age=int(self.max_age.total_seconds()), return_timestamp=True
            )
        except SignatureExpired:
            raise Unauthenticated(
                "登录已超时（8小时），请重新登录。", code="auth.expired"
            ) from None
        except BadSignature:
            raise Unauthenticated("登录凭证无效，请重新登录。", code="auth.invalid") from None
        if not (
            isinstance(data, dict)
            and isinstance(data.get("u"), str)
            and isinstance(data.get("n"), str)
        ):
            raise Unauthenticated("登录凭证无效，请重新登录。", code="auth.invalid")
        return Claims(data["u"], data["n"], signed_at.astimezone(UTC), via_cookie)

    def csrf_token(self, claims: Claims) -> str:
        return hmac.new(self._csrf_key, claims.nonce.encode(), hashlib.sha256).hexdigest()

    def login_token(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()

    def check_login(self, nonce: str | None, given: str | None) -> None:
        """The sign-in form's token matches the browser's login cookie."""
        if not (nonce and given and len(nonce) <= MAX_TOKEN_CHARS) or not hmac.compare_digest(
            given.encode("utf-8", "replace"), self.login_token(nonce).encode()
        ):
            raise ScopeDenied(
                "登录表单已失效（缺少或不符的防跨站请求令牌），请刷新页面后重新登录。",
                code="csrf.invalid",
            )

    def check_csrf(self, claims: Claims, given: str | None) -> None:
        if not given or not hmac.compare_digest(
            given.encode("utf-8", "replace"), self.csrf_token(claims).encode()
        ):
            raise ScopeDenied(
                "表单已失效（缺少或不符的防跨站请求令牌），请刷新页面后重新提交。",
                code="csrf.invalid",
            )
