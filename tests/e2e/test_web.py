"""The workbench over HTTP on both databases: sign-in, inbox marks, forms, CSRF, errors."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from tongban.models import Case, Deadline
from tongban.workflow.commands import Accept

from ..world import World, card_application, diploma_application
from .conftest import Http, register

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
VERSION = re.compile(r'name="version" value="(\d+)"')


LOGIN = re.compile(r'name="login_token" value="([0-9a-f]+)"')


def _login_token(client: Http) -> str:
    """The sign-in form's token (its other half is the login cookie the client now holds)."""
    found = LOGIN.search(client.get("/login").text)
    assert found
    return found.group(1)


def _web(app: FastAPI, username: str) -> Http:
    client = Http(app)
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": "tongban-demo",
            "login_token": _login_token(client),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client


def _form(page: str) -> dict[str, str]:
    csrf = CSRF.search(page)
    version = VERSION.search(page)
    assert csrf and version, page
    return {"csrf_token": csrf.group(1), "version": version.group(1)}


def test_login_logout_and_redirects(http: Http) -> None:
    r = http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = http.get("/login")
    assert page.status_code == 200 and "登录工作台" in page.text
    assert 'lang="zh-CN"' in page.text and "/static/app.css" in page.text
    # Without the form's login token (another site posting the form): refused.
    r = http.post("/login", data={"username": "clerk.cz", "password": "tongban-demo"})
    assert r.status_code == 403 and "登录表单已失效" in r.text

    def login(username: str, password: str, token: str) -> httpx.Response:
        return http.post(
            "/login", data={"username": username, "password": password, "login_token": token}
        )

    r = login("clerk.cz", "nope-nope", _login_token(http))
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    assert 'value="clerk.cz"' in r.text  # the username is kept
    again = LOGIN.search(r.text)  # the page comes back with a fresh token
    assert again
    r = login("clerk.cz\x00", "x", again.group(1))
    assert r.status_code == 422
    # A token from somebody else's form does not match this browser's login cookie.
    other = Http(http.app)
    try:
        foreign = _login_token(other)
    finally:
        other.close()
    assert login("clerk.cz", "tongban-demo", foreign).status_code == 403
    assert login("clerk.cz", "tongban-demo", _login_token(http)).status_code == 303
    inbox = http.get("/")
    assert (
        inbox.status_code == 200 and "王芳（市中心专窗）" in inbox.text and "新收件" in inbox.text
    )
    csrf = CSRF.search(inbox.text)
    assert csrf
    # Logging out needs the form's token; then the pages send you to the login page.
    assert http.post("/logout", data={}).status_code == 403
    r = http.post("/logout", data={"csrf_token": csrf.group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert http.get("/").headers["location"] == "/login"
    assert http.get("/static/app.css").status_code == 200


def test_inbox_marks_overdue_warning_and_uncertain(world: World, app: FastAPI) -> None:
    late = register(world, diploma_application("111"))  # Tue 10:00: its one day is Wed
    world.tick(24)
    warned = register(world, diploma_application("222"))  # Wed 10:00: its day is Thu
    world.tick(22)
    calm = register(world, diploma_application("333"))  # Thu 08:00: its day is Fri
    with world.uow() as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.case_no == calm))
        uow.session.execute(
            update(Deadline).where(Deadline.case_id == case_id).values(uncertain=True)
        )
        uow.commit()
    world.tick(9)  # Thu 17:00: late is past Wed 24:00; warned is past 2/3 of Thu; calm waits
    page = _web(app, "clerk.cz").get("/").text
    rows = {
        no: page[page.index(no) : page.index("</tr>", page.index(no))]
        for no in (late, warned, calm)
    }
    assert "超期" in rows[late] and "badge red" in rows[late]
    assert "预警" in rows[warned] and "badge yellow" in rows[warned] and "超期" not in rows[warned]
    assert "超期" not in rows[calm] and "预警" not in rows[calm]
    assert "（日历未确认）" in rows[calm] and "（日历未确认）" not in rows[late]
    assert "收件推送" in rows[late] and "已收件" in rows[late]
    # Whole working days, as people count them.
    assert "已超期 1 个工作日" in rows[late]
    assert "今日到期" in rows[warned]
    assert "剩余 1 个工作日" in rows[calm]
    # The same facts, computed once, on the JSON side.
    body = Http(app)
    body.sign_in("clerk.cz")
    alerts = {r["case_no"]: r["deadline"]["alert"] for r in body.get("/api/cases").json()["rows"]}
    assert alerts == {late: "overdue", warned: "warning", calm: None}


def test_action_form_round_trip(world: World, app: FastAPI) -> None:
    no = register(world, diploma_application())
    web = _web(app, "clerk.cz")
    page = web.get(f"/cases/{no}")
    assert page.status_code == 200
    assert "形式审查通过" in page.text and "学历公证" in page.text and "办理记录" in page.text
    form = _form(page.text)
    # Without the CSRF token: refused, nothing written.
    r = web.post(f"/cases/{no}/actions/pass_formal_review", data={"version": form["version"]})
    assert r.status_code == 403 and "防跨站" in r.text
    r = web.post(f"/cases/{no}/actions/pass_formal_review", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{no}?done=pass_formal_review"
    done = web.get(r.headers["location"]).text
    assert "已完成「形式审查通过」" in done and 'id="case-state">形式审查通过<' in done
    # The old version again: stale, re-rendered with the message and the fresh version.
    r = web.post(
        f"/cases/{no}/actions/verify_identity",
        data={**form, "document_number": diploma_application().applicant_id_number},
    )
    assert r.status_code == 409 and "请刷新页面" in r.text
    assert not re.search(r"第\s*\d+\s*版", r.text)  # the internal version is nobody's business
    fresh = _form(r.text)
    assert int(fresh["version"]) > int(form["version"])
    # A validation error names the field in Chinese and keeps the input.
    r = web.post(
        f"/cases/{no}/actions/verify_identity", data={**fresh, "document_number": "1" * 25}
    )
    assert r.status_code == 422 and "document_number" in r.text and "过长" in r.text
    # A refused rule (mismatching number) re-renders with the service's message.
    r = web.post(
        f"/cases/{no}/actions/verify_identity",
        data={**fresh, "document_number": diploma_application("999").applicant_id_number},
    )
    assert r.status_code == 422 and "不一致" in r.text and 'class="action has-error"' in r.text
    fresh = _form(r.text)
    r = web.post(
        f"/cases/{no}/actions/verify_identity",
        data={**fresh, "document_number": diploma_application().applicant_id_number},
    )
    assert r.status_code == 303
    page = web.get(f"/cases/{no}").text
    assert "身份核验通过" in page and "在线推送" in page


def test_reasons_are_required_where_the_rule_says(world: World, app: FastAPI) -> None:
    no = register(world, diploma_application())
    web = _web(app, "clerk.cz")
    form = _form(web.get(f"/cases/{no}").text)
    assert 'data-action="not_accept"' not in web.get(f"/cases/{no}").text  # not the window's
    r = web.post(f"/cases/{no}/actions/decline", data={**form, "reasons": "  \n "})
    assert r.status_code == 409 and "须写明理由" in r.text
    form = _form(r.text)  # the page as re-rendered, as a person would submit it next
    r = web.post(
        f"/cases/{no}/actions/decline", data={**form, "reasons": "本窗口不承接\n申请人不愿补正"}
    )
    assert r.status_code == 303, re.findall(r'id="action-error">([^<]*)<', r.text)
    page = web.get(f"/cases/{no}").text
    assert "不予收件" in page and "本窗口不承接；申请人不愿补正" in page and "本件已结束" in page


def test_the_home_department_refuses_acceptance_with_basis_and_remedies(
    world: World, app: FastAPI
) -> None:
    no = register(world, diploma_application())
    world.forward(no)
    web = _web(app, "reviewer.gz")
    form = _form(web.get(f"/cases/{no}").text)
    reasons = {"reasons": "申请事项不属于本公证处执业区域"}
    r = web.post(f"/cases/{no}/actions/not_accept", data={**form, **reasons, "legal_basis": " "})
    assert r.status_code == 422 and "法律依据" in r.text
    form = _form(r.text)
    done = {**form, **reasons, "legal_basis": "《公证法》第二十五条", "review_body": "浙江省司法厅"}
    r = web.post(f"/cases/{no}/actions/not_accept", data=done)
    assert r.status_code == 303, re.findall(r'id="action-error">([^<]*)<', r.text)
    page = web.get(f"/cases/{no}").text
    assert "不予受理" in page and "《公证法》第二十五条" in page
    assert (
        "60日内向浙江省司法厅申请行政复议" in page and "6个月内依法向人民法院提起行政诉讼" in page
    )


def test_unknown_action_and_case_pages(world: World, app: FastAPI) -> None:
    no = register(world, diploma_application())
    web = _web(app, "clerk.cz")
    form = _form(web.get(f"/cases/{no}").text)
    r = web.post(f"/cases/{no}/actions/fly", data=form)
    assert r.status_code == 404 and "没有「fly」这个操作" in r.text
    r = web.get("/cases/CZ01-19990101-0001")
    assert r.status_code == 404 and "不存在" in r.text and "text/html" in r.headers["content-type"]
    assert web.get("/nowhere").status_code == 404


def test_register_through_the_form(world: World, app: FastAPI) -> None:
    web = _web(app, "clerk.cz")
    first = web.get("/cases/new")
    assert first.status_code == 200 and "1-01 学历公证" in first.text
    page = web.get("/cases/new", params={"item": "1-01"}).text
    csrf = CSRF.search(page)
    assert csrf and "学历证书（毕业证书）原件及复印件" in page and "杭州市西湖公证处" in page
    app_ = diploma_application()
    data = {
        "csrf_token": csrf.group(1),
        "item_code": "1-01",
        "department_code": "GZ330106",
        "applicant_kind": "person",
        "applicant_name": "张伟",
        "applicant_id_number": "34170219900315123",  # one digit short
        "delivery_preference": "mail",
        "delivery_address": app_.delivery_address,
        "materials": ["id_card", "diploma", "application_form"],
        "e_licence": ["id_card"],
        "licence_no_id_card": "DZZZ-3417-0001",
    }
    r = web.post("/cases/new", data=data)
    assert r.status_code == 422 and 'value="张伟"' in r.text  # kept for the correction
    r = web.post("/cases/new", data={**data, "applicant_id_number": app_.applicant_id_number})
    assert r.status_code == 303, r.text
    case_page = web.get(r.headers["location"]).text
    assert "已完成「收件登记」" in case_page and "已由电子证照核验" in case_page
    assert "DZZZ-3417-0001" in case_page  # the licence's number, recorded and shown
    # A child with a guardian: refused without one (naming the field), then registered,
    # and the identity check on the case page is for the guardian who came.
    child = {**data, "applicant_name": "张小明", "applicant_id_number": "341702201703150023"}
    r = web.post("/cases/new", data=child)
    assert r.status_code == 422 and "须登记到场的监护人" in r.text and 'value="张小明"' in r.text
    guardian = {
        "agent_role": "guardian", "agent_name": "张伟", "agent_relationship": "父子",
        "agent_document_type": "hk_macao_pass", "agent_document_number": "h12345678",
    }  # fmt: skip
    r = web.post("/cases/new", data={**child, **guardian})
    assert r.status_code == 303, r.text
    no = r.headers["location"].split("/")[2].split("?")[0]
    case_page = web.get(f"/cases/{no}").text
    assert "监护人" in case_page and "港澳居民来往内地通行证" in case_page
    assert "H12345678" not in case_page  # masked... short numbers entirely
    form = _form(case_page)
    r = web.post(f"/cases/{no}/actions/pass_formal_review", data=form)
    assert r.status_code == 303
    page = web.get(f"/cases/{no}").text
    assert 'name="person"' in page and "监护人：张伟（港澳居民来往内地通行证）" in page
    verify = {**_form(page), "person": "agent", "document_number": "H12345678"}
    r = web.post(f"/cases/{no}/actions/verify_identity", data=verify)
    assert r.status_code == 303, r.text
    assert "被核验人" in web.get(f"/cases/{no}").text
    # Only window clerks register.
    reviewer = _web(app, "reviewer.gz")
    assert "新收件" not in reviewer.get("/").text
    assert "只有收件窗口人员可以登记收件" in reviewer.get("/cases/new").text


def test_read_only_roles_see_no_forms(world: World, app: FastAPI) -> None:
    no = register(world, card_application(), clerk="clerk.gc")
    assert _web(app, "reviewer.rs").get(f"/cases/{no}").status_code == 404  # not forwarded yet
    world.forward(no, "clerk.gc")
    page = _web(app, "supervisor.cz").get(f"/cases/{no}").text
    assert "您可以查看本件，但不能办理。" in page and 'class="action' not in page
    rs = _web(app, "reviewer.rs")
    page = rs.get(f"/cases/{no}").text
    forms = re.findall(r'data-action="(\w+)"', page)
    # The home side's own steps; none of the window's.
    assert forms == ["accept", "not_accept", "transfer", "return_to_window", "withdraw"]
    # 转办 offers the other departments, and hands the case over.
    assert "池州市人力资源和社会保障局（RS341700）" in page
    transfer = {**_form(page), "reasons": "属池州市人社局管辖", "department_code": "RS341700"}
    r = rs.post(f"/cases/{no}/actions/transfer", data=transfer)
    assert r.status_code == 303, re.findall(r'id="action-error">([^<]*)<', r.text)
    assert rs.get(f"/cases/{no}").status_code == 404  # no longer this department's
    assert 'data-action="accept"' in _web(app, "reviewer.cz").get(f"/cases/{no}").text
    inbox = _web(app, "clerk.cz").get("/", params={"state": "received", "q": "刘洋"}).text
    assert no not in inbox and "没有符合条件的办件" in inbox


def test_session_cookie_expiry_sends_to_login(world: World, app: FastAPI) -> None:
    web = _web(app, "clerk.cz")
    world.tick(8 * 24)  # past the fixture's 7-day sessions
    r = web.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_special_procedure_through_the_forms(world: World, app: FastAPI) -> None:
    no = register(world, card_application(), clerk="clerk.gc")
    world.forward(no, clerk="clerk.gc")
    world.act(Accept, "reviewer.rs", no)
    web = _web(app, "reviewer.rs")
    page = web.get(f"/cases/{no}").text
    for action in ("suspend", "start_special_procedure", "request_home_supplement", "terminate"):
        assert f'data-action="{action}"' in page
    assert "预计工作日数" in page and "专家评审" in page
    url = f"/cases/{no}/actions/start_special_procedure"
    # A duration out of bounds is named by its label; the typed reasons are kept.
    r = web.post(url, data={**_form(page), "procedure": "appraisal", "expected_days": "0",
                            "reasons": "须作伤残等级鉴定"})  # fmt: skip
    assert r.status_code == 422 and "预计工作日数" in r.text and "须作伤残等级鉴定" in r.text
    r = web.post(url, data={**_form(r.text), "procedure": "appraisal", "expected_days": "5",
                            "reasons": "须作伤残等级鉴定"})  # fmt: skip
    assert r.status_code == 303
    page = web.get(r.headers["location"]).text
    assert 'id="case-hold"' in page and "特别程序" in page and "审查决定时限暂停计算" in page
    assert 'data-action="approve"' not in page and 'data-action="end_special_procedure"' in page
    r = web.post(f"/cases/{no}/actions/end_special_procedure", data=_form(page))
    assert r.status_code == 303
    page = web.get(f"/cases/{no}").text
    assert 'id="case-hold"' not in page and 'data-action="approve"' in page
    table = page[page.index('id="excluded"') :]
    assert "特别程序（鉴定）" in table and "须作伤残等级鉴定" in table
