"""End-to-end fixtures: the real ASGI app over a world on SQLite and PostgreSQL, spoken to
with httpx over HTTP semantics (ASGITransport), through a small synchronous facade."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tongban.api.app import create_app
from tongban.services.core.runtime import Runtime
from tongban.services.demo import DEMO_PASSWORD
from tongban.workflow.commands import Application

from ..world import World, build_world


class Http:
    """A synchronous httpx client over the ASGI app (one event loop per client)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        self.headers: dict[str, str] = {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **(kw.pop("headers", None) or {})}
        return self._runner.run(self._client.request(method, url, headers=headers, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
        """Sign in and use the bearer token (not the cookie) from now on."""
        r = self.post("/api/session", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        self._client.cookies.clear()
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        return body

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def app(world: World) -> FastAPI:
    # Every request is a few minutes after the last one, on the world's calendar. Sessions
    # last long here, or a client quiet for ten requests would idle out; the session tests
    # (test_signin.py) run the defaults on a clock of their own.
    # Set on the world's own settings, so a test that changes one (a file size limit) is
    # heard by the app too.
    world.rt.settings.session_idle_minutes = 7 * 24 * 60
    world.rt.settings.session_lifetime_hours = 7 * 24
    return create_app(world.rt, clock=lambda: world.tick(0.05))


@pytest.fixture
def http(app: FastAPI) -> Iterator[Http]:
    client = Http(app)
    yield client
    client.close()


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Any]:
    """Signed-in bearer clients by username, made on demand."""
    made: dict[str, Http] = {}

    def get(username: str) -> Http:
        if username not in made:
            made[username] = Http(app)
            made[username].sign_in(username)
        return made[username]

    yield get
    for client in made.values():
        client.close()


def register(w: World, application: Application, clerk: str = "clerk.cz") -> str:
    """Receive a case through the service layer (the HTTP path has its own tests)."""
    return w.receive(application, clerk)


def seen(client: Http, case_no: str, **body: Any) -> dict[str, Any]:
    """An action's body naming the version the client reads now (every action needs one)."""
    r = client.get(f"/api/cases/{case_no}")
    assert r.status_code == 200, r.text
    return {**body, "version": r.json()["version"]}


def problem_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem of this status and code; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://tongban.dev/problems/{code}"
    assert body["title"] and body["detail"]
    assert body["instance"] == r.request.url.path
    return body
