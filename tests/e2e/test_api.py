"""The JSON API over HTTP on both databases: sessions, scope, the lifecycle, problems."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Any

import anyio.to_thread
import pytest
import structlog
from sqlalchemy import select, update

from tongban.api.app import create_app
from tongban.api.security import SESSION_COOKIE
from tongban.models import User, UserSession
from tongban.services.cases import queries
from tongban.services.core.errors import InvalidInput
from tongban.services.users.accounts import create_user

from ..scans import pdf_bytes
from ..world import World, card_application, diploma_application
from .conftest import Http, problem_of, register, seen

Clients = Any


def _diploma_body(**over: Any) -> dict[str, Any]:
    app = diploma_application()
    body: dict[str, Any] = {
        "item_code": app.item_code,
        "department_code": app.department_code,
        "applicant_kind": app.applicant_kind,
        "applicant_name": app.applicant_name,
        "applicant_id_number": app.applicant_id_number,
        "delivery_preference": app.delivery_preference,
        "delivery_address": app.delivery_address,
        "materials": [{"code": m.code} for m in app.materials],
    }
    return body | over


# --- sessions ------------------------------------------------------------------------------


def test_sign_in_sets_cookie_and_returns_bearer_token(http: Http) -> None:
    r = http.post("/api/session", json={"username": "clerk.cz", "password": "tongban-demo"})
    assert r.status_code == 201
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["username"] == "clerk.cz"
    assert body["user"]["role_label"] == "窗口人员"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Max-Age=604800" in cookie  # the session lifetime (the fixture's 7 days)
    assert "tongban-demo" not in cookie and "clerk.cz" not in body["token"]  # signed, not plain
    # The cookie alone authenticates a read ...
    assert http.get("/api/me").json()["username"] == "clerk.cz"
    # ... and so does the token alone.
    http.cookies.clear()
    me = http.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["display_name"] == "王芳（市中心专窗）"


def test_sign_in_failures_are_401_problems(http: Http) -> None:
    r = http.post("/api/session", json={"username": "clerk.cz", "password": "wrong-password"})
    problem_of(r, 401, "auth.failed")
    assert r.headers["www-authenticate"].startswith("Bearer")
    problem_of(http.get("/api/me"), 401, "auth.required")
    problem_of(
        http.get("/api/me", headers={"Authorization": "Bearer nonsense"}), 401, "auth.invalid"
    )
    problem_of(http.get("/api/me", headers={"Authorization": "Basic abc"}), 401, "auth.invalid")
    http.cookies.set(SESSION_COOKIE, "forged.value.sig")
    problem_of(http.get("/api/cases"), 401, "auth.invalid")


def test_a_token_is_random_and_only_its_hash_is_stored(http: Http, world: World) -> None:
    """Sessions are server-side: the database holds the token's SHA-256, never the token,
    and a token that was never issued (whatever key it would be signed with) is refused."""
    token = http.sign_in("clerk.cz")["token"]
    with world.uow() as uow:
        stored = uow.session.scalars(select(UserSession.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    problem_of(
        http.get("/api/me", headers={"Authorization": f"Bearer {token[:-1]}x"}), 401, "auth.invalid"
    )


def test_deactivated_user_loses_access_at_once(http: Http, world: World) -> None:
    token = http.sign_in("clerk.gc")["token"]
    with world.uow() as uow:
        uow.session.execute(update(User).where(User.username == "clerk.gc").values(active=False))
        uow.commit()
    problem_of(
        http.get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401, "auth.failed"
    )


def test_sign_out_clears_the_cookie(http: Http) -> None:
    http.post("/api/session", json={"username": "clerk.cz", "password": "tongban-demo"})
    assert http.get("/api/me").status_code == 200
    r = http.delete("/api/session")
    assert r.status_code == 204
    assert (
        f'{SESSION_COOKIE}=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    )
    problem_of(http.get("/api/me"), 401, "auth.required")


def test_cookie_session_changes_need_the_csrf_token(http: Http, world: World) -> None:
    no = register(world, card_application(), clerk="clerk.gc")
    signed = http.post("/api/session", json={"username": "clerk.gc", "password": "tongban-demo"})
    csrf = signed.json()["csrf_token"]
    url = f"/api/cases/{no}/actions/pass_formal_review"
    problem_of(http.post(url, json={}), 403, "csrf.invalid")
    problem_of(http.post(url, json={}, headers={"X-CSRF-Token": "0" * 64}), 403, "csrf.invalid")
    r = http.post(url, json=seen(http, no), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "formally_reviewed"


# --- scope ---------------------------------------------------------------------------------


def _case_nos(client: Http, **params: Any) -> set[str]:
    r = client.get("/api/cases", params=params)
    assert r.status_code == 200, r.text
    return {row["case_no"] for row in r.json()["rows"]}


def test_list_scope_per_role(world: World, client_for: Clients) -> None:
    cz = register(world, diploma_application(), clerk="clerk.cz")  # CZ01 341700 -> GZ330106
    gc = register(world, card_application(), clerk="clerk.gc")  # GC01 341702 -> RS320102
    hz = register(world, card_application("789"), clerk="clerk.hz")  # HZ01 330100 -> RS320102
    assert _case_nos(client_for("clerk.cz")) == {cz}
    assert _case_nos(client_for("clerk.gc")) == {gc}
    assert _case_nos(client_for("clerk.hz")) == {hz}
    # The home departments see nothing before the forward...
    assert _case_nos(client_for("reviewer.gz")) == set()
    assert _case_nos(client_for("reviewer.rs")) == set()
    problem_of(client_for("reviewer.gz").get(f"/api/cases/{cz}"), 404, "case.not_found")
    for no, clerk in ((cz, "clerk.cz"), (gc, "clerk.gc"), (hz, "clerk.hz")):
        world.forward(no, clerk)
    # ...and their own cases from then on.
    assert _case_nos(client_for("reviewer.gz")) == {cz}
    assert _case_nos(client_for("reviewer.rs")) == {gc, hz}
    assert _case_nos(client_for("reviewer.yb")) == set()
    assert _case_nos(client_for("supervisor.cz")) == {cz, gc}  # 3417xx received
    assert _case_nos(client_for("supervisor.ah")) == {cz, gc}  # 34xxxx
    assert _case_nos(client_for("admin")) == {cz, gc, hz}
    # Detail follows the same scope.
    # Detail follows the same scope; out of it, a case is not found (404, not 403), so that
    # case numbers cannot be discovered by trying them.
    r = client_for("clerk.hz").get(f"/api/cases/{cz}")
    assert problem_of(r, 404, "case.not_found")["detail"] == (
        client_for("clerk.hz")
        .get("/api/cases/CZ01-20260310-9999")
        .json()["detail"]
        .replace("CZ01-20260310-9999", cz)
    )
    assert client_for("supervisor.cz").get(f"/api/cases/{gc}").status_code == 200
    problem_of(client_for("supervisor.cz").get(f"/api/cases/{hz}"), 404, "case.not_found")


def test_list_filters_and_pages(world: World, client_for: Clients) -> None:
    first = register(world, diploma_application("111"))
    second = register(world, diploma_application("222"))
    clerk = client_for("clerk.cz")
    clerk.post(f"/api/cases/{first}/actions/pass_formal_review", json=seen(clerk, first))
    assert _case_nos(clerk, state="formally_reviewed") == {first}
    assert _case_nos(clerk, state="received") == {second}
    assert _case_nos(clerk, q="学历") == {first, second}
    assert _case_nos(clerk, q=second[-4:]) == {second}
    assert _case_nos(clerk, q="100%_") == set()  # LIKE wildcards are literal
    page = clerk.get("/api/cases", params={"per_page": 1, "page": 2}).json()
    assert page["total"] == 2 and page["pages"] == 2 and len(page["rows"]) == 1
    assert page["rows"][0]["case_no"] == first  # newest first
    problem_of(clerk.get("/api/cases", params={"state": "nonsense"}), 422, "input.invalid")
    r = clerk.get("/api/cases", params={"page": 0})
    assert problem_of(r, 422, "input.invalid")["field"] == "page"


def test_list_is_a_fixed_number_of_queries(world: World, client_for: Clients) -> None:
    from sqlalchemy import event

    for seq in range(6):
        register(world, diploma_application(f"3{seq}1"))
    admin = client_for("admin")  # signed in before counting
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(world.rt.engine, "before_cursor_execute", count)
    try:
        r = admin.get("/api/cases")
    finally:
        event.remove(world.rt.engine, "before_cursor_execute", count)
    assert r.status_code == 200 and len(r.json()["rows"]) == 6
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects  # user, count, page, deadlines (+ SQLite's BEGIN aside)


# --- the lifecycle -------------------------------------------------------------------------


def test_full_lifecycle_over_http(world: World, client_for: Clients) -> None:
    clerk, reviewer = client_for("clerk.cz"), client_for("reviewer.gz")
    r = clerk.post("/api/cases", json=_diploma_body(contact_phone="13800000001"))
    assert r.status_code == 201, r.text
    no = r.json()["case_no"]
    assert r.headers["location"] == f"/api/cases/{no}"
    version = r.json()["version"]

    def act(client: Http, action: str, **body: Any) -> dict[str, Any]:
        nonlocal version
        resp = client.post(f"/api/cases/{no}/actions/{action}", json={"version": version, **body})
        assert resp.status_code == 200, resp.text
        assert resp.headers["etag"] == f'"{resp.json()["version"]}"'
        version = resp.json()["version"]
        out: dict[str, Any] = resp.json()
        return out

    detail = clerk.get(f"/api/cases/{no}").json()
    assert [a["action"] for a in detail["actions"]] == [
        "pass_formal_review",
        "request_supplement",
        "decline",
        "withdraw",
    ]
    first = detail["deadlines"][0]
    assert first["stage"] == "forward" and first["status"] == "running"
    assert (
        detail["applicant_id_masked"].startswith("341702") and "*" in detail["applicant_id_masked"]
    )

    act(clerk, "pass_formal_review")
    act(clerk, "verify_identity", document_number=diploma_application().applicant_id_number)
    # The scans go with the push: one per material (an upload moves no version).
    for slot in ("id_card", "diploma", "application_form"):
        up = clerk.post(
            f"/api/cases/{no}/materials",
            data={"slot": slot},
            files={"file": (f"{slot}.pdf", pdf_bytes(slot), "application/pdf")},
        )
        assert up.status_code == 201, up.text
    assert clerk.get(f"/api/cases/{no}").json()["version"] == version
    act(clerk, "forward")
    assert reviewer.get(f"/api/cases/{no}").json()["actions"][0]["action"] == "accept"
    act(reviewer, "accept")
    # Originals must arrive before a decision: approve is not offered yet.
    offered = [a["action"] for a in reviewer.get(f"/api/cases/{no}").json()["actions"]]
    assert "approve" not in offered
    act(clerk, "mail_originals", carrier="中国邮政EMS", tracking_no="1100000000001")
    act(reviewer, "receive_originals")
    act(reviewer, "approve", reasons=["材料真实有效"])
    deliver = next(
        a for a in reviewer.get(f"/api/cases/{no}").json()["actions"] if a["action"] == "deliver"
    )
    assert deliver["delivery_methods"] == ["mail", "electronic"]
    assert deliver["fields"] == ["method", "carrier", "tracking_no"]
    act(reviewer, "deliver", method="mail", carrier="中国邮政EMS", tracking_no="1100000000009")
    # The diploma goes back to the applicant before the case completes.
    offered = [a["action"] for a in reviewer.get(f"/api/cases/{no}").json()["actions"]]
    assert "complete" not in offered and "return_originals" in offered
    act(reviewer, "return_originals", carrier="中国邮政EMS", tracking_no="1100000000010")
    final = act(reviewer, "complete")
    assert final["state"] == "completed" and final["state_label"] == "已办结"

    detail = clerk.get(f"/api/cases/{no}").json()
    assert detail["final"] and detail["actions"] == []
    assert [e["action"] for e in detail["history"]] == [
        "receive",
        "pass_formal_review",
        "verify_identity",
        "upload_material",
        "upload_material",
        "upload_material",
        "forward",
        "accept",
        "mail_originals",
        "receive_originals",
        "approve",
        "deliver",
        "return_originals",
        "complete",
    ]
    assert detail["history"][10]["reasons"] == ["材料真实有效"]
    assert detail["history"][0]["action_label"] == "收件登记"
    assert all(d["status"] == "closed" for d in detail["deadlines"])
    assert {m["code"] for m in detail["materials"]} == {"id_card", "diploma", "application_form"}
    # The supervisor of the receiving city reads it too, and may not act.
    supervisor = client_for("supervisor.cz")
    assert supervisor.get(f"/api/cases/{no}").json()["actions"] == []


def test_supplement_round_trip(world: World, client_for: Clients) -> None:
    clerk = client_for("clerk.cz")
    body = _diploma_body(materials=[{"code": "id_card"}, {"code": "application_form"}])
    no = clerk.post("/api/cases", json=body).json()["case_no"]
    detail = clerk.get(f"/api/cases/{no}").json()
    assert detail["missing_materials"] == ["学历证书（毕业证书）原件及复印件"]
    r = clerk.post(f"/api/cases/{no}/actions/pass_formal_review", json=seen(clerk, no))
    assert problem_of(r, 409, "formal_review.materials_missing")["detail"].startswith("材料不齐全")
    r = clerk.post(
        f"/api/cases/{no}/actions/request_supplement",
        json=seen(clerk, no, notice_items=["学历证书原件"]),
    )
    assert r.json()["state"] == "supplementing"
    paused = clerk.get(f"/api/cases/{no}").json()["deadlines"][0]
    assert paused["status"] == "paused" and paused["due_at"] is None
    r = clerk.post(
        f"/api/cases/{no}/actions/supplement", json=seen(clerk, no, materials=[{"code": "diploma"}])
    )
    assert r.status_code == 200 and r.json()["state"] == "received"
    etag = clerk.get(f"/api/cases/{no}").headers["etag"]
    # No body at all: the version in If-Match.
    r = clerk.post(f"/api/cases/{no}/actions/pass_formal_review", headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["state"] == "formally_reviewed"


# --- problems ------------------------------------------------------------------------------


def test_each_error_kind_is_a_problem(world: World, client_for: Clients, http: Http) -> None:
    no = register(world, diploma_application())
    clerk, reviewer = client_for("clerk.cz"), client_for("reviewer.gz")
    # not_found
    problem_of(clerk.get("/api/cases/CZ01-19990101-9999"), 404, "case.not_found")
    r = clerk.post("/api/cases/NOPE/actions/forward", json={"version": 1})
    problem_of(r, 404, "case.not_found")
    problem_of(clerk.post(f"/api/cases/{no}/actions/fly", json={}), 404, "action.unknown")
    problem_of(clerk.get("/api/nothing-here"), 404, "not_found")
    # conflict
    problem_of(
        clerk.post(f"/api/cases/{no}/actions/forward", json=seen(clerk, no)),
        409,
        "transition.not_allowed",
    )
    # not found: a case the home department cannot see yet is no different from no case
    r = reviewer.post(f"/api/cases/{no}/actions/pass_formal_review", json={"version": 1})
    problem_of(r, 404, "case.not_found")
    # forbidden: a supervisor sees the case but does not act on it
    supervisor = client_for("supervisor.cz")
    r = supervisor.post(f"/api/cases/{no}/actions/pass_formal_review", json=seen(supervisor, no))
    problem_of(r, 403, "scope.denied")
    problem_of(reviewer.post("/api/cases", json=_diploma_body()), 403, "scope.denied")
    # invalid (a domain rule, with the field)
    r = clerk.post("/api/cases", json=_diploma_body(applicant_id_number="341702199003151230"))
    body = problem_of(r, 422, r.json()["code"])
    assert body["field"] == "applicant_id_number"
    r = clerk.post("/api/cases", json=_diploma_body(item_code="9-99"))
    assert problem_of(r, 422, "input.invalid")["field"] == "item_code"
    # unauthenticated
    problem_of(http.get(f"/api/cases/{no}"), 401, "auth.required")
    # a method the path does not take
    problem_of(clerk.request("PUT", "/api/cases"), 405, "method.not_allowed")


def test_an_action_without_a_version_is_428(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    url = f"/api/cases/{no}/actions/pass_formal_review"
    for r in (clerk.post(url, json={}), clerk.post(url)):
        body = problem_of(r, 428, "case.version_required")
        assert body["field"] == "version"
        assert "重新读取办件" in body["detail"] and "version" in body["detail"]
    after = clerk.get(f"/api/cases/{no}").json()
    assert after["state"] == "received" and after["version"] == 1  # nothing changed
    assert clerk.post(url, json={"version": 1}).status_code == 200
    # Documented, with the problem+json schema.
    doc = clerk.get("/api/openapi.json").json()
    answer = doc["paths"]["/api/cases/{case_no}/actions/pass_formal_review"]["post"]["responses"]
    schema = answer["428"]["content"]["application/problem+json"]["schema"]
    assert {"type", "title", "status", "detail", "code", "instance"} <= set(schema["required"])
    assert "case.version_required" in answer["428"]["description"]
    assert "503" in answer and "409" in answer


def test_stale_version_via_if_match(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    detail = clerk.get(f"/api/cases/{no}")
    etag = detail.headers["etag"]
    assert etag == f'"{detail.json()["version"]}"'
    url = f"/api/cases/{no}/actions/pass_formal_review"
    assert clerk.post(url, json={}, headers={"If-Match": etag}).status_code == 200
    # Someone else's view of the old version:
    r = clerk.post(
        f"/api/cases/{no}/actions/verify_identity",
        headers={"If-Match": etag},
        json={
            "document_number": diploma_application().applicant_id_number,
        },
    )
    body = problem_of(r, 409, "case.stale_version")
    assert body["current_version"] == detail.json()["version"] + 1
    # W/ and bare forms are understood; nonsense is a 422 naming the header.
    r = clerk.post(f"/api/cases/{no}/actions/forward", headers={"If-Match": f"W/{etag}"})
    problem_of(r, 409, "case.stale_version")
    r = clerk.post(f"/api/cases/{no}/actions/forward", headers={"If-Match": "*"})
    assert problem_of(r, 422, "input.invalid")["field"] == "if-match"
    # Body version and If-Match disagreeing is refused.
    r = clerk.post(
        f"/api/cases/{no}/actions/forward", headers={"If-Match": '"7"'}, json={"version": 8}
    )
    assert problem_of(r, 422, "input.invalid")["field"] == "version"
    # The stale attempts wrote nothing.
    assert clerk.get(f"/api/cases/{no}").json()["state"] == "formally_reviewed"


INVALID_BODIES: list[tuple[str, Any, str]] = [
    ("decline", {}, "reasons"),
    ("decline", {"reasons": "不是列表"}, "reasons"),
    ("decline", {"reasons": ["x" * 501]}, "reasons.0"),
    ("decline", {"reasons": ["ok"], "extra": 1}, "extra"),
    ("request_supplement", {"notice_items": ["a"] * 51}, "notice_items"),
    ("verify_identity", {"document_number": 341702199003151234}, "document_number"),
    ("verify_identity", {"document_number": "1" * 25}, "document_number"),
    ("verify_identity", {"document_number": "1", "person": "stranger"}, "person"),
    ("verify_identity", {"document_number": "34\x00"}, "document_number"),
    ("deliver", {"method": "pigeon"}, "method"),
    ("supplement", {"materials": [{"code": "diploma", "copies": 10**12}]}, "materials.0.copies"),
    ("forward", {"version": "three"}, "version"),
    ("forward", {"version": 0}, "version"),
    ("forward", {"version": 10**40}, "version"),
    ("forward", [1, 2], "body"),
]


def test_validation_errors_name_the_field(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    for action, body, field in INVALID_BODIES:
        r = clerk.post(f"/api/cases/{no}/actions/{action}", json=body)
        problem = problem_of(r, 422, "input.invalid")
        assert problem["field"] == field, (action, body, problem)
        assert problem["errors"][0]["field"] == field
        assert field in problem["detail"] and "：" in problem["detail"]  # names the field
    assert clerk.get(f"/api/cases/{no}").json()["state"] == "received"  # nothing written


def test_malformed_and_oversized_bodies(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    url = f"/api/cases/{no}/actions/decline"
    json_type = {"Content-Type": "application/json"}
    r = clerk.post(url, content=b'{"reasons": [', headers=json_type)
    assert problem_of(r, 422, "input.invalid")["field"] == "body"
    r = clerk.post(url, content=b"\xff\xfe\x00", headers=json_type)
    assert 400 <= r.status_code < 500
    r = clerk.post(url, content=b'{"reasons": ["\\ud800"]}', headers=json_type)
    assert problem_of(r, 422, "input.invalid")["field"] == "reasons.0"
    r = clerk.post(url, content=b"x" * (2 << 20), headers=json_type)
    problem_of(r, 413, "request.too_large")
    problem_of(clerk.get("/api/cases/" + "9" * 65), 422, "input.invalid")
    problem_of(clerk.get("/api/cases/%00"), 422, "input.invalid")
    problem_of(clerk.get("/api/cases", params={"q": "张\x00"}), 422, "input.invalid")
    problem_of(clerk.get("/api/cases", params={"q": "张" * 101}), 422, "input.invalid")
    r = clerk.post("/api/session", json={"username": "a\x00", "password": "x"})
    problem_of(r, 422, "input.invalid")


def test_unexpected_error_is_a_500_problem_without_stack(
    client_for: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = client_for("clerk.cz")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "list_cases", boom)
    with structlog.testing.capture_logs() as logs:
        r = clerk.get("/api/cases")
    body = problem_of(r, 500, "internal")
    assert "secret" not in r.text and "Traceback" not in r.text
    failed = [e for e in logs if e["event"] == "request.failed"]
    assert failed and failed[0]["log_level"] == "error" and failed[0]["exc_info"]
    assert body["detail"].startswith("系统内部错误")


# --- the rest of the surface ---------------------------------------------------------------


def test_openapi_and_health(http: Http) -> None:
    spec = http.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/cases/{case_no}/actions/request_supplement" in paths
    schema = paths["/api/cases/{case_no}/actions/request_supplement"]["post"]["requestBody"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith("/RequestSupplementIn")
    assert "/api/session" in paths and "/api/me" in paths and "/api/cases" in paths
    assert not any(p.startswith("/cases") for p in paths)  # the workbench stays out
    assert http.get("/api/docs").status_code == 200
    assert http.get("/healthz").json() == {"status": "ok"}


def test_logs_carry_request_id_and_user(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        r = clerk.post(
            f"/api/cases/{no}/actions/pass_formal_review",
            json={"version": 1},
            headers={"X-Request-ID": "req-abc-123"},
        )
    assert r.headers["x-request-id"] == "req-abc-123"
    action = next(e for e in logs if e["event"] == "case.action")
    assert action["request_id"] == "req-abc-123" and action["user"] == "clerk.cz"
    access = [e for e in logs if e["event"] == "request"]
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["user"] == "clerk.cz"
    assert access[0]["request_id"] == "req-abc-123" and access[0]["method"] == "POST"
    # A request without an id gets one; ids do not leak between requests.
    r2 = clerk.get("/api/me", headers={"X-Request-ID": "bad id with spaces"})
    assert r2.headers["x-request-id"] != "req-abc-123" and " " not in r2.headers["x-request-id"]


def test_register_over_http_validates_with_fields(client_for: Clients) -> None:
    clerk = client_for("clerk.cz")
    r = clerk.post("/api/cases", json=_diploma_body(applicant_kind="robot"))
    assert problem_of(r, 422, "input.invalid")["field"] == "applicant_kind"
    r = clerk.post("/api/cases", json=_diploma_body(applicant_name="x" * 201))
    assert problem_of(r, 422, "input.invalid")["field"] == "applicant_name"
    r = clerk.post("/api/cases", json=_diploma_body(materials=[{"code": "diploma"}] * 51))
    assert problem_of(r, 422, "input.invalid")["field"] == "materials"
    r = clerk.post("/api/cases", json=_diploma_body(delivery_address=""))
    assert problem_of(r, 422, "input.invalid")["field"] == "delivery_address"


def test_a_company_registers_with_its_handler_who_is_then_checked(
    world: World, client_for: Clients
) -> None:
    clerk = client_for("clerk.cz")
    company = _diploma_body(
        applicant_kind="company", applicant_name="池州某某科技有限公司",
        applicant_id_number="91350100m000100y43", legal_representative="张三",
    )  # fmt: skip
    r = clerk.post("/api/cases", json=company)
    body = problem_of(r, 422, "input.invalid")
    assert body["field"] == "agent" and "经办人" in body["detail"]
    handler = {
        "role": "handler", "name": "李明", "document_type": "passport",
        "document_number": "E1234567", "phone": "13900000000",
    }  # fmt: skip
    r = clerk.post("/api/cases", json={**company, "agent": {**handler, "role": "guardian"}})
    assert problem_of(r, 422, "input.invalid")["field"] == "agent.role"
    r = clerk.post("/api/cases", json={**company, "agent": {**handler, "document_number": "E1"}})
    body = problem_of(r, 422, "input.invalid_id_number")
    assert body["field"] == "agent.document_number" and "代理人证件号码（护照）" in body["detail"]
    r = clerk.post("/api/cases", json={**company, "agent": handler})
    assert r.status_code == 201, r.text
    no = r.json()["case_no"]
    detail = clerk.get(f"/api/cases/{no}").json()
    assert detail["agent"]["role_label"] == "经办人" and detail["agent"]["name"] == "李明"
    assert detail["agent"]["document_masked"] == "********"  # a short number: all masked
    assert detail["applicant_document_label"] == "统一社会信用代码"
    assert detail["legal_representative"] == "张三"
    r = clerk.post(f"/api/cases/{no}/actions/pass_formal_review", json=seen(clerk, no))
    assert r.status_code == 200
    r = clerk.post(
        f"/api/cases/{no}/actions/verify_identity",
        json=seen(clerk, no, document_number="91350100M000100Y43"),
    )
    assert problem_of(r, 422, "identity.company_needs_agent")["field"] == "person"
    r = clerk.post(
        f"/api/cases/{no}/actions/verify_identity",
        json=seen(clerk, no, person="agent", document_number="ｅ１２３４５６７"),
    )
    assert r.status_code == 200, r.text
    event = clerk.get(f"/api/cases/{no}").json()["history"][-1]
    assert event["payload"]["verified"] == "agent"
    assert event["payload"]["verified_name"] == "李明"
    assert event["payload"]["document_type"] == "passport"


def test_server_caps_request_threads_from_settings(world: World) -> None:
    """TONGBAN_REQUEST_THREADS reaches the thread pool that runs blocking endpoints."""
    rt = dataclasses.replace(
        world.rt, settings=world.rt.settings.model_copy(update={"request_threads": 3})
    )
    app = create_app(rt)

    async def limit_during_lifespan() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert asyncio.run(limit_during_lifespan()) == 3


def test_production_serves_no_api_docs(world: World) -> None:
    settings = world.rt.settings.model_copy(update={"env": "production"})
    client = Http(create_app(dataclasses.replace(world.rt, settings=settings)))
    try:
        assert client.get("/api/docs").status_code == 404
        assert client.get("/api/openapi.json").status_code == 404
        assert client.get("/healthz").status_code == 200
    finally:
        client.close()


@pytest.mark.parametrize(
    ("username", "password", "fragment"),
    [
        ("clerk.new", "short", "至少8位"),
        ("clerk.new", "my-clerk.new-pw", "不能包含用户名"),
        ("clerk.new", "Password1", "过于常见"),
        ("clerk.new", "12345678", "过于常见"),
    ],
)
def test_weak_passwords_are_refused(
    world: World, username: str, password: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        create_user(
            world.uow(), username=username, display_name="新窗口人员", role="clerk",
            password=password, office_code="CZ01",
        )  # fmt: skip
    assert err.value.field == "password" and fragment in err.value.message
    made = create_user(
        world.uow(), username=username, display_name="新窗口人员", role="clerk",
        password="长江中路1号窗口", office_code="CZ01",
    )  # fmt: skip
    assert made.username == username


# --- idempotency keys ----------------------------------------------------------------------


def test_a_retried_registration_makes_one_case(world: World, client_for: Clients) -> None:
    clerk = client_for("clerk.cz")
    key = {"Idempotency-Key": "3f1c9a0e-5b7d-4c2a-9e61-0a8b7c6d5e4f"}
    first = clerk.post("/api/cases", json=_diploma_body(), headers=key)
    assert first.status_code == 201, first.text
    again = clerk.post("/api/cases", json=_diploma_body(), headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert {row["case_no"] for row in clerk.get("/api/cases").json()["rows"]} == {
        first.json()["case_no"]
    }
    # The same key with another body is refused, and makes nothing either.
    other = clerk.post("/api/cases", json=_diploma_body(applicant_name="李四"), headers=key)
    assert problem_of(other, 422, "idempotency.key_reused")["field"] == "idempotency-key"
    assert clerk.get("/api/cases").json()["total"] == 1
    # Keys are per user: another clerk's same key is a request of its own.
    other_clerk = client_for("clerk.gc")
    r = other_clerk.post("/api/cases", json=_diploma_body(department_code="RS341700"), headers=key)
    assert r.status_code in (201, 403, 422), r.text
    assert r.headers.get("idempotent-replayed") is None
    # Without a key, the same body is a second case.
    assert clerk.post("/api/cases", json=_diploma_body()).status_code == 201
    assert clerk.get("/api/cases").json()["total"] == 2


def test_a_retried_action_acts_once(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    url = f"/api/cases/{no}/actions/pass_formal_review"
    key = {"Idempotency-Key": "retry-me-1"}
    first = clerk.post(url, json={"version": 1}, headers=key)
    assert first.status_code == 200, first.text
    again = clerk.post(url, json={"version": 1}, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] == '"2"'
    detail = clerk.get(f"/api/cases/{no}").json()
    assert detail["version"] == 2
    assert [e["action"] for e in detail["history"]].count("pass_formal_review") == 1
    # A different request under the same key: refused.
    r = clerk.post(url, json={"version": 2}, headers=key)
    problem_of(r, 422, "idempotency.key_reused")
    # A refused request keeps no key: the retry runs again (and is refused again).
    bad = {"Idempotency-Key": "retry-me-2"}
    forward = f"/api/cases/{no}/actions/forward"
    problem_of(clerk.post(forward, json={"version": 2}, headers=bad), 409, "transition.not_allowed")
    problem_of(clerk.post(forward, json={"version": 2}, headers=bad), 409, "transition.not_allowed")
    # Documented.
    doc = clerk.get("/api/openapi.json").json()
    post = doc["paths"]["/api/cases"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "idempotency.key_reused" in post["responses"]["422"]["description"]
    assert "application/problem+json" in post["responses"]["503"]["content"]
