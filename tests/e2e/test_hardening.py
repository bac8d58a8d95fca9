"""Security headers on every answer, and input that looks like text but shows nothing or
shows something else: a reason of zero-width spaces, names with bidi controls."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tongban.api.app import create_app
from tongban.workflow.commands import has_text, name_problem

from ..world import World, diploma_application
from .conftest import Http, problem_of, register
from .test_api import _diploma_body

Clients = Any

INVISIBLE = "\u200b \u200c\u200d\ufeff\u3000\u2060"


def _secured(r: Any, *, no_store: bool = True) -> None:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert (h.get("cache-control") == "no-store") is no_store
    assert "strict-transport-security" not in h  # development: plain HTTP


def test_every_answer_carries_the_security_headers(
    world: World, client_for: Clients, http: Http
) -> None:
    _secured(http.get("/login"))  # a page
    _secured(http.get("/api/me"))  # a problem (401)
    _secured(http.get("/healthz"))
    no = register(world, diploma_application())
    _secured(client_for("clerk.cz").get(f"/api/cases/{no}"))  # personal data
    _secured(http.get("/static/app.css"), no_store=False)  # may be cached
    _secured(http.post("/api/session", content=b"x" * (2 << 20)))  # the middleware's own 413


def test_production_adds_hsts(world: World) -> None:
    settings = world.rt.settings.model_copy(update={"env": "production"})
    client = Http(create_app(dataclasses.replace(world.rt, settings=settings)))
    try:
        for path in ("/login", "/api/me", "/healthz"):
            assert client.get(path).headers["strict-transport-security"].startswith("max-age=")
    finally:
        client.close()


def test_the_templates_have_no_inline_script_or_style() -> None:
    """What lets the policy forbid inline script: nothing inline to allow."""
    from tongban.api.web.render import HERE

    for template in (HERE / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for marker in ("<script", "<style", "style=", " onclick=", " onsubmit=", "javascript:"):
            assert marker not in text, (template.name, marker)


@pytest.mark.parametrize("value", ["", "   ", INVISIBLE, "\u200b", "\u202e"])
def test_invisible_text_is_no_text(value: str) -> None:
    assert not has_text(value)


def test_visible_text_is_text() -> None:
    assert has_text("材料不齐") and has_text("\u200b材料不齐\u200b")


def test_a_reason_of_zero_width_spaces_is_no_reason(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    url = f"/api/cases/{no}/actions/decline"
    r = clerk.post(url, json={"reasons": [INVISIBLE, "\u200b\u200b"], "version": 1})
    assert r.status_code in (409, 422), r.text
    assert r.json()["code"] == "transition.reason_required"
    r = clerk.post(url, json={"reasons": ["\u200b申请人不愿补正\u200b"], "version": 1})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("field", "over"),
    [
        ("applicant_name", {"applicant_name": "张\u202e三"}),
        ("applicant_name", {"applicant_name": "\u2067李四\u2069"}),
        ("applicant_name", {"applicant_name": INVISIBLE}),
    ],
)
def test_names_with_bidi_controls_are_refused(
    client_for: Clients, field: str, over: dict[str, str]
) -> None:
    r = client_for("clerk.cz").post("/api/cases", json=_diploma_body(**over))
    body = problem_of(r, 422, "input.invalid")
    assert body["field"] == field and "申请人" in body["detail"]


def test_name_problems_say_what_to_do() -> None:
    bidi = name_problem("王\u202e五")
    assert bidi is not None and "文字方向控制字符" in bidi
    assert name_problem("王五") is None
    assert name_problem("Zoë O'Brien-Ng") is None
