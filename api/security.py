"""CSRF and sign-in form tokens, signed with the session secret (services.users.secret).

A session is a random token (services.users.sessions) that travels as
`Authorization: Bearer ...` (API clients) or in an HttpOnly cookie (the workbench). A
request authenticated by the cookie and changing something must also carry the session's
CSRF token (form field `csrf_token` or header `X-CSRF-Token`): an HMAC of the session's
token hash under the session secret, which another site can neither read nor compute.

The session secret is its own secret, never derived from the audit key: whoever reads the
audit key file can forge neither these tokens nor a session.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from tongban.services.core.errors import ScopeDenied
from tongban.services.users.sessions import MAX_TOKEN_CHARS, SessionInfo

SESSION_COOKIE = "tongban_session"
# Login CSRF: the sign-in form carries an HMAC of a random value kept in this cookie, so
# another site cannot sign a person in under its own account.
LOGIN_COOKIE = "tongban_login"
LOGIN_FIELD = "login_token"
LOGIN_MAX_AGE = timedelta(hours=1)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, HKDF-expand style: HMAC(session secret, label)."""
    return hmac.new(secret, f"tongban/{purpose}/v1".encode(), hashlib.sha256).digest()


class Tokens:
    def __init__(self, session_secret: bytes) -> None:
        self._csrf_key = derive_key(session_secret, "csrf")

    def csrf_token(self, session: SessionInfo) -> str:
        return self.csrf_of_hash(session.token_hash)

    def csrf_of_hash(self, token_hash: str) -> str:
        return hmac.new(self._csrf_key, token_hash.encode(), hashlib.sha256).hexdigest()

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

    def check_csrf(self, token_hash: str, given: str | None) -> None:
        if not given or not hmac.compare_digest(
            given.encode("utf-8", "replace"), self.csrf_of_hash(token_hash).encode()
        ):
            raise ScopeDenied(
                "表单已失效（缺少或不符的防跨站请求令牌），请刷新页面后重新提交。",
                code="csrf.invalid",
            )
