"""Sign-in and sessions as an attacker and an operator meet them, on both databases:
throttling and locks, Argon2id and the scrypt upgrade, server-side sessions (idle, lifetime,
revocation), password changes and resets, the session secret apart from the audit key."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import argon2
import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import event, select, update
from typer.testing import CliRunner

from tongban.api.app import create_app
from tongban.api.cli.main import app as cli
from tongban.api.security import SESSION_COOKIE, Tokens
from tongban.models import Alert, OutboxMessage, SignInThrottle, User, UserSession
from tongban.services.core.config import Settings
from tongban.services.core.errors import InvalidInput
from tongban.services.core.runtime import open_runtime
from tongban.services.demo import DEMO_PASSWORD
from tongban.services.users.accounts import create_user, reset_password, set_active
from tongban.services.users.passwords import ARGON2, NOBODY_HASH
from tongban.services.users.secret import ensure_session_secret, load_session_secret
from tongban.services.users.sessions import authenticate, hash_token

from ..conftest import T0
from ..world import World
from .conftest import Http, problem_of

LOGIN = re.compile(r'name="login_token" value="([0-9a-f]+)"')
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(world: World, clock: Clock) -> FastAPI:
    """The app with the default session settings, on a clock the test moves."""
    return create_app(world.rt, clock=clock)


@pytest.fixture
def client(site: FastAPI) -> Iterator[Http]:
    c = Http(site)
    yield c
    c.close()


def _sign_in(c: Http, username: str, password: str) -> httpx.Response:
    return c.post("/api/session", json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _web_sign_in(web: Http, username: str) -> None:
    page = LOGIN.search(web.get("/login").text)
    assert page
    r = web.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "login_token": page[1]}
    )
    assert r.status_code == 303, r.text


# --- throttling ----------------------------------------------------------------------------


def test_wrong_passwords_back_off_then_lock_and_alert_the_admin(
    world: World, client: Http, clock: Clock
) -> None:
    """Today 30 wrong passwords are 30 times 401. Now: 4 free failures, then waits that
    double (2 s, 4 s, 8 s ...), a 15-minute lock at the 10th, an alert to the admin; the
    right password is refused too while locked, and works once the lock ends."""
    for _ in range(4):
        problem_of(_sign_in(client, "clerk.cz", "wrong-password"), 401, "auth.failed")
        clock.advance(seconds=1)
    problem_of(_sign_in(client, "clerk.cz", "wrong-password"), 401, "auth.failed")  # 5th
    r = _sign_in(client, "clerk.cz", "wrong-password")
    body = problem_of(r, 429, "auth.throttled")
    assert r.headers["retry-after"] == "2" and body["retry_after"] == 2
    assert "该用户名登录失败次数较多" in body["detail"] and "2秒后再试" in body["detail"]
    waits = []
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):  # failures 6 to 10, each after its wait
            clock.advance(seconds=int(r.headers["retry-after"]))
            problem_of(_sign_in(client, "clerk.cz", "wrong-password"), 401, "auth.failed")
            r = _sign_in(client, "clerk.cz", DEMO_PASSWORD)
            waits.append(int(r.headers["retry-after"]))
    assert waits == [4, 8, 16, 32, 15 * 60]
    body = problem_of(r, 429, "auth.locked")
    assert "已暂时锁定" in body["detail"] and "15分钟后再试" in body["detail"]
    assert [e["event"] for e in logs].count("signin.locked") == 1
    with world.uow() as uow:
        alert = uow.session.scalars(select(Alert).where(Alert.kind == "signin_locked")).one()
        assert alert.recipients == ["admin"] and alert.details["username"] == "clerk.cz"
        message = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.alert_id == alert.id)
        ).one()
        assert message.recipient == "admin" and "登录锁定" in message.subject
    clock.advance(minutes=14)
    problem_of(_sign_in(client, "clerk.cz", DEMO_PASSWORD), 429, "auth.locked")
    clock.advance(minutes=1, seconds=1)
    assert _sign_in(client, "clerk.cz", DEMO_PASSWORD).status_code == 201


def test_the_count_lives_in_the_database_and_success_resets_it(
    world: World, client: Http, clock: Clock
) -> None:
    """Failures made through one server process throttle another (`serve --workers N`);
    a successful sign-in forgets the username's failures; unknown usernames count too."""
    other_process = open_runtime(world.rt.settings)
    try:
        other = Http(create_app(other_process, clock=clock))
        for _ in range(4):
            problem_of(_sign_in(client, "clerk.gc", "wrong-password"), 401, "auth.failed")
        assert _sign_in(other, "clerk.gc", DEMO_PASSWORD).status_code == 201  # resets
        for _ in range(5):
            problem_of(_sign_in(client, "clerk.gc", "wrong-password"), 401, "auth.failed")
        problem_of(_sign_in(other, "clerk.gc", DEMO_PASSWORD), 429, "auth.throttled")
        for _ in range(5):
            problem_of(_sign_in(other, "no.such.user", "wrong-password"), 401, "auth.failed")
        problem_of(_sign_in(client, "no.such.user", "wrong-password"), 429, "auth.throttled")
        other.close()
    finally:
        other_process.close()
    with world.uow() as uow:
        keys = set(uow.session.scalars(select(SignInThrottle.key)))
    assert {"user:clerk.gc", "user:no.such.user", "address:127.0.0.1"} <= keys


def test_one_address_guessing_many_usernames_is_throttled(world: World, clock: Clock) -> None:
    settings = world.rt.settings.model_copy(
        update={"signin_address_free": 3, "signin_address_lock": 4}
    )
    c = Http(create_app(dataclasses.replace(world.rt, settings=settings), clock=clock))
    try:
        for name in ("clerk.cz", "clerk.gc", "admin"):
            problem_of(_sign_in(c, name, "wrong-password"), 401, "auth.failed")
        body = problem_of(_sign_in(c, "reviewer.hz", "wrong-password"), 429, "auth.throttled")
        assert "您所在网络地址" in body["detail"]
        clock.advance(seconds=2)
        problem_of(_sign_in(c, "reviewer.hz", "wrong-password"), 401, "auth.failed")  # 4th: lock
        problem_of(_sign_in(c, "reviewer.hz", DEMO_PASSWORD), 429, "auth.locked")
    finally:
        c.close()
    with world.uow() as uow:
        alert = uow.session.scalars(select(Alert).where(Alert.kind == "signin_locked")).one()
    assert alert.details["key"] == "address" and alert.details["address"] == "127.0.0.1"


def test_the_sign_in_page_says_when_to_try_again(site: FastAPI, clock: Clock) -> None:
    web = Http(site)
    try:
        for _ in range(6):
            token = LOGIN.search(web.get("/login").text)
            assert token
            r = web.post(
                "/login",
                data={"username": "clerk.cz", "password": "nope-nope", "login_token": token[1]},
            )
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert r.headers["content-type"].startswith("text/html")
        assert "登录失败次数较多，请在2秒后再试" in r.text and 'name="login_token"' in r.text
    finally:
        web.close()


# --- password hashes -----------------------------------------------------------------------


def test_new_passwords_are_argon2id_at_owasp_parameters(world: World) -> None:
    create_user(
        world.uow(), username="clerk.new", display_name="新窗口人员", role="clerk",
        password="长江中路1号窗口", office_code="CZ01",
    )  # fmt: skip
    with world.uow() as uow:
        stored = uow.session.scalars(
            select(User.password_hash).where(User.username == "clerk.new")
        ).one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # The dummy hash checked for unknown users costs what a real one costs.
    assert NOBODY_HASH.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not ARGON2.check_needs_rehash(NOBODY_HASH)


def _scrypt(password: str) -> str:
    """A hash as earlier versions stored them."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384${salt.hex()}${digest.hex()}"


def test_scrypt_hashes_become_argon2id_at_the_next_sign_in(world: World, client: Http) -> None:
    with world.uow() as uow:
        uow.session.execute(
            update(User)
            .where(User.username == "clerk.cz")
            .values(password_hash=_scrypt("旧密码-2025"))
        )
        uow.commit()

    def stored() -> str:
        with world.uow() as uow:
            return uow.session.scalars(
                select(User.password_hash).where(User.username == "clerk.cz")
            ).one()

    problem_of(_sign_in(client, "clerk.cz", "wrong-password"), 401, "auth.failed")
    assert stored().startswith("scrypt$")  # a failure changes nothing
    assert _sign_in(client, "clerk.cz", "旧密码-2025").status_code == 201
    assert stored().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert _sign_in(client, "clerk.cz", "旧密码-2025").status_code == 201


@pytest.mark.parametrize(
    ("username", "password"),
    [("clerk.cz", "wrong-password"), ("nobody.here", "wrong-password"), ("clerk.gc", None)],
)
def test_every_failed_sign_in_costs_one_argon2_verification(
    client: Http, world: World, monkeypatch: pytest.MonkeyPatch, username: str, password: str | None
) -> None:
    """A wrong password, an unknown username and a disabled user all answer 401 after one
    Argon2id verification with the same parameters, so the time does not tell them apart."""
    if password is None:  # a disabled user with the right password
        set_active(world.uow(), username=username, active=False, now=T0)
        password = DEMO_PASSWORD
    hashes: list[str] = []
    real = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, stored: str, given: str) -> bool:
        hashes.append(stored)
        return real(self, stored, given)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    problem_of(_sign_in(client, username, password), 401, "auth.failed")
    assert len(hashes) == 1
    assert hashes[0].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


# --- sessions ------------------------------------------------------------------------------


def test_a_session_ends_after_30_idle_minutes(client: Http, clock: Clock) -> None:
    token = _sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"]
    for _ in range(3):  # active for 1.5 hours, a request every 29 minutes
        clock.advance(minutes=29)
        assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    clock.advance(minutes=30)
    body = problem_of(client.get("/api/me", headers=_bearer(token)), 401, "auth.expired")
    assert "30分钟未操作" in body["detail"]


def test_a_session_ends_8_hours_after_sign_in_however_busy(client: Http, clock: Clock) -> None:
    r = _sign_in(client, "clerk.cz", DEMO_PASSWORD)
    body = r.json()
    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(hours=8)
    assert "Max-Age=28800" in r.headers["set-cookie"]
    for _ in range(19):
        clock.advance(minutes=25)
        assert client.get("/api/me", headers=_bearer(body["token"])).status_code == 200
    clock.advance(minutes=25)  # 8 h 20 min after sign-in
    detail = problem_of(client.get("/api/me", headers=_bearer(body["token"])), 401, "auth.expired")
    assert "8小时" in detail["detail"]


def test_sessions_ended_a_month_ago_are_deleted_at_the_next_sign_in(
    world: World, client: Http, clock: Clock
) -> None:
    _sign_in(client, "clerk.cz", DEMO_PASSWORD)
    clock.advance(days=20)
    _sign_in(client, "clerk.cz", DEMO_PASSWORD)
    clock.advance(days=11)  # the first ended 30 days 16 hours ago, the second 10 days 16 hours
    _sign_in(client, "clerk.cz", DEMO_PASSWORD)
    with world.uow() as uow:
        created = uow.session.scalars(select(UserSession.created_at).order_by(UserSession.id))
        assert list(created) == [T0 + timedelta(days=20), T0 + timedelta(days=31)]


def test_a_request_is_one_read_and_last_seen_is_written_once_a_minute(
    world: World, client: Http, clock: Clock
) -> None:
    token = _sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2].lstrip().split()[0].upper())

    event.listen(world.rt.engine, "before_cursor_execute", count)
    try:
        clock.advance(seconds=30)
        assert client.get("/api/me", headers=_bearer(token)).status_code == 200
        reads = list(statements)
        clock.advance(seconds=31)  # a minute since sign-in: last-seen moves
        assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    finally:
        event.remove(world.rt.engine, "before_cursor_execute", count)
    assert [s for s in reads if s != "BEGIN"] == ["SELECT"]  # session joined with the actor
    assert statements[len(reads) :].count("UPDATE") == 1
    with world.uow() as uow:
        seen = uow.session.scalars(select(UserSession.last_seen_at)).one()
    assert seen == T0 + timedelta(seconds=61)


def test_sign_out_revokes_the_bearer_token_and_the_cookie(site: FastAPI, client: Http) -> None:
    token = _sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"]
    client.cookies.clear()
    assert client.delete("/api/session", headers=_bearer(token)).status_code == 204
    problem_of(client.get("/api/me", headers=_bearer(token)), 401, "auth.revoked")
    # The workbench: the cookie kept from before sign-out no longer works.
    web = Http(site)
    try:
        _web_sign_in(web, "clerk.cz")
        cookie = web.cookies[SESSION_COOKIE]
        csrf = CSRF.search(web.get("/").text)
        assert csrf
        assert web.post("/logout", data={"csrf_token": csrf[1]}).status_code == 303
        web.cookies.set(SESSION_COOKIE, cookie)
        assert web.get("/").headers["location"] == "/login"
        problem_of(client.get("/api/me", headers=_bearer(cookie)), 401, "auth.revoked")
    finally:
        web.close()


def test_disabling_revokes_and_enabling_revives_nothing(world: World, client: Http) -> None:
    token = _sign_in(client, "clerk.gc", DEMO_PASSWORD).json()["token"]
    assert set_active(world.uow(), username="clerk.gc", active=False, now=T0) == 1
    problem_of(client.get("/api/me", headers=_bearer(token)), 401, "auth.revoked")
    set_active(world.uow(), username="clerk.gc", active=True, now=T0)
    problem_of(client.get("/api/me", headers=_bearer(token)), 401, "auth.revoked")
    assert _sign_in(client, "clerk.gc", DEMO_PASSWORD).status_code == 201


def test_a_password_reset_revokes_every_session(world: World, client: Http) -> None:
    tokens = [_sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"] for _ in range(2)]
    assert reset_password(world.uow(), username="clerk.cz", password="新的窗口密码-01", now=T0) == 2
    for token in tokens:
        problem_of(client.get("/api/me", headers=_bearer(token)), 401, "auth.revoked")
    problem_of(_sign_in(client, "clerk.cz", DEMO_PASSWORD), 401, "auth.failed")
    assert _sign_in(client, "clerk.cz", "新的窗口密码-01").status_code == 201
    with pytest.raises(InvalidInput):
        reset_password(world.uow(), username="clerk.cz", password="12345678", now=T0)


def test_users_change_their_own_password(client: Http) -> None:
    other = _sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"]
    this = _sign_in(client, "clerk.cz", DEMO_PASSWORD).json()["token"]
    url = "/api/session/password"
    wrong = {"current_password": "not-it-at-all", "new_password": "池州专窗-2026"}
    body = problem_of(client.post(url, json=wrong, headers=_bearer(this)), 422, "input.invalid")
    assert body["field"] == "current_password"
    weak = {"current_password": DEMO_PASSWORD, "new_password": "password1"}
    body = problem_of(client.post(url, json=weak, headers=_bearer(this)), 422, "input.invalid")
    assert "过于常见" in body["detail"]
    good = {"current_password": DEMO_PASSWORD, "new_password": "池州专窗-2026"}
    r = client.post(url, json=good, headers=_bearer(this))
    assert r.status_code == 200 and r.json() == {"other_sessions_revoked": 1}
    assert client.get("/api/me", headers=_bearer(this)).status_code == 200
    problem_of(client.get("/api/me", headers=_bearer(other)), 401, "auth.revoked")
    client.cookies.clear()
    assert _sign_in(client, "clerk.cz", "池州专窗-2026").status_code == 201


def test_the_workbench_password_page(site: FastAPI) -> None:
    web = Http(site)
    try:
        _web_sign_in(web, "clerk.cz")
        form = web.get("/password")
        assert form.status_code == 200 and "修改密码" in form.text
        csrf = CSRF.search(form.text)
        assert csrf
        fields = {"csrf_token": csrf[1], "current_password": DEMO_PASSWORD}
        r = web.post(
            "/password",
            data=fields | {"new_password": "池州专窗-2026", "new_password_again": "池州专窗-2027"},
        )
        assert r.status_code == 422 and "与新密码不一致" in r.text
        r = web.post("/password", data={"current_password": DEMO_PASSWORD})
        assert r.status_code == 403  # no CSRF token
        r = web.post(
            "/password",
            data=fields | {"new_password": "池州专窗-2026", "new_password_again": "池州专窗-2026"},
        )
        assert r.status_code == 200 and "密码已修改" in r.text
    finally:
        web.close()


# --- keys and files ------------------------------------------------------------------------


def test_the_audit_key_forges_no_csrf_token(world: World, client: Http) -> None:
    """Sessions and CSRF tokens no longer hang off the audit key: whoever reads the audit key
    file computes a CSRF token that is refused (before: accepted, and a forged admin
    session answered 200)."""
    signed = _sign_in(client, "admin", DEMO_PASSWORD).json()
    _actor, session = authenticate(world.uow(), hash_token(signed["token"]), now=T0)
    assert Tokens(world.rt.session_secret).csrf_token(session) == signed["csrf_token"]
    forged = Tokens(world.rt.key.secret).csrf_token(session)
    assert forged != signed["csrf_token"]
    r = client.post("/api/session/password", json={}, headers={"X-CSRF-Token": forged})
    problem_of(r, 403, "csrf.invalid")


def test_init_creates_private_files(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'tongban.db'}",
            audit_key_file=tmp_path / "keys" / "tongban-audit.key",
        )
        rt = open_runtime(settings, init=True)
        secret = ensure_session_secret(settings)
        rt.close()
    finally:
        os.umask(old)
    for path in (
        tmp_path / "tongban.db",
        tmp_path / "keys" / "tongban-audit.key",
        tmp_path / "keys" / "tongban-session.key",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert secret != rt.key.secret and len(secret) == 32
    assert load_session_secret(settings) == secret
    given = settings.model_copy(update={"session_secret": "ab" * 32})
    assert load_session_secret(given) == bytes.fromhex("ab" * 32)


# --- the command line ----------------------------------------------------------------------


def test_the_users_command(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tongban.api.cli.common.configure_logging", lambda **_: None)
    monkeypatch.setenv("TONGBAN_DATABASE_URL", world.rt.settings.database_url)
    monkeypatch.setenv("TONGBAN_AUDIT_KEY", world.rt.settings.audit_key or "")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", "clerk.new", "--role", "clerk", "--name", "新窗口人员",
         "--office", "CZ01", "--password", "长江中路1号窗口"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["users", "list"])
    assert listed.exit_code == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("clerk.new\t"))
    assert line.split("\t")[1:5] == ["新窗口人员", "窗口人员", "CZ01", "启用"]
    c = Http(create_app(world.rt))
    try:
        token = _sign_in(c, "clerk.new", "长江中路1号窗口").json()["token"]
        sessions = runner.invoke(cli, ["users", "sessions", "clerk.new"])
        assert sessions.exit_code == 0 and sessions.stdout.count("\t有效") == 1
        disabled = runner.invoke(cli, ["users", "disable", "clerk.new"])
        assert disabled.exit_code == 0 and "注销会话 1 个" in disabled.stdout
        problem_of(c.get("/api/me", headers=_bearer(token)), 401, "auth.revoked")
        assert "停用" in runner.invoke(cli, ["users", "list"]).stdout
        assert runner.invoke(cli, ["users", "enable", "clerk.new"]).exit_code == 0
        reset = runner.invoke(
            cli, ["users", "reset-password", "clerk.new", "--password", "黄河路2号服务窗口"]
        )
        assert reset.exit_code == 0, reset.output
        assert _sign_in(c, "clerk.new", "黄河路2号服务窗口").status_code == 201
        assert "已注销" in runner.invoke(cli, ["users", "sessions", "clerk.new"]).stdout
        weak = runner.invoke(cli, ["users", "reset-password", "clerk.new", "--password", "short"])
        assert weak.exit_code == 2 and "至少8位" in weak.stderr
        missing = runner.invoke(cli, ["users", "disable", "no.such"])
        assert missing.exit_code == 2 and "no.such" in missing.stderr
    finally:
        c.close()
