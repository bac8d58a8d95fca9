"""Demo data: offices, departments, users and a dozen cases in varied states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from tongban.models import Case, Department, Office, User
from tongban.workflow.identity import id_check_char, uscc_check_char

from . import cases as c
from .actors import Actor, load_actor
from .catalog import load_catalog
from .guides import load_guides
from .runtime import Runtime
from .users import create_user

DEMO_PASSWORD = "tongban-demo"

OFFICES = [
    ("CZ01", "池州市政务服务中心“跨省通办”专窗", "341700"),
    ("GC01", "贵池区政务服务中心“跨省通办”专窗", "341702"),
    ("HZ01", "杭州市民中心“跨省通办”专窗", "330100"),
]
DEPARTMENTS = [
    ("GZ330106", "杭州市西湖公证处", "330106"),
    ("RS320102", "南京市玄武区人力资源和社会保障局", "320102"),
    ("YB310115", "上海市浦东新区医疗保障局", "310115"),
    ("RS341700", "池州市人力资源和社会保障局", "341700"),
]
USERS = [
    ("admin", "系统管理员", "admin", {}),
    ("clerk.cz", "王芳（市中心专窗）", "clerk", {"office_code": "CZ01"}),
    ("clerk.gc", "李强（贵池区专窗）", "clerk", {"office_code": "GC01"}),
    ("clerk.hz", "陈静（杭州专窗）", "clerk", {"office_code": "HZ01"}),
    ("reviewer.gz", "赵敏（西湖公证处）", "reviewer", {"department_code": "GZ330106"}),
    ("reviewer.rs", "周伟（玄武区人社局）", "reviewer", {"department_code": "RS320102"}),
    ("reviewer.yb", "吴磊（浦东医保局）", "reviewer", {"department_code": "YB310115"}),
    ("reviewer.cz", "孙丽（池州市人社局）", "reviewer", {"department_code": "RS341700"}),
    ("supervisor.cz", "郑督查（池州市）", "supervisor", {"region_code": "341700"}),
    ("supervisor.ah", "钱督查（安徽省）", "supervisor", {"region_code": "340000"}),
]


def person_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + id_check_char(body)


def company_code(body17: str) -> str:
    return body17 + uscc_check_char(body17)


def load_org(rt: Runtime) -> None:
    with rt.uow() as uow:
        session = uow.session
        known = set(session.scalars(select(Office.code)))
        for code, name, region in OFFICES:
            if code not in known:
                session.add(Office(code=code, name=name, region_code=region))
        known = set(session.scalars(select(Department.code)))
        for code, name, region in DEPARTMENTS:
            if code not in known:
                session.add(Department(code=code, name=name, region_code=region))
        uow.commit()
    with rt.uow() as uow:
        existing = set(uow.session.scalars(select(User.username)))
    for username, display, role, unit in USERS:
        if username not in existing:
            create_user(
                rt.uow(),
                username=username,
                display_name=display,
                role=role,
                password=DEMO_PASSWORD,
                **unit,
            )


Step = Callable[[Runtime, dict[str, Actor], str, datetime], object]


def _path(*steps: Step) -> list[Step]:
    return list(steps)


def _do(fn: Callable[..., object], who: str, **kw: object) -> Step:
    def run(rt: Runtime, actors: dict[str, Actor], case_no: str, now: datetime) -> object:
        return fn(rt.uow(), rt.key, actor=actors[who], case_no=case_no, now=now, **kw)

    return run


def _cases() -> list[tuple[str, c.Application, list[Step]]]:
    diploma = c.Application(
        item_code="1-01",
        department_code="GZ330106",
        applicant_kind="person",
        applicant_name="张伟",
        applicant_id_number=person_id("341702", "19900315", "123"),
        delivery_preference="mail",
        delivery_address="安徽省池州市贵池区长江中路1号",
        contact_phone="13800000001",
        materials=(
            c.MaterialIn("id_card"),
            c.MaterialIn("diploma"),
            c.MaterialIn("application_form"),
        ),
    )
    card = c.Application(
        item_code="2-21",
        department_code="RS320102",
        applicant_kind="person",
        applicant_name="刘洋",
        applicant_id_number=person_id("320102", "19880720", "456"),
        delivery_preference="window",
        contact_phone="13800000002",
        materials=(
            c.MaterialIn("id_card"),
            c.MaterialIn("photo"),
            c.MaterialIn("application_form"),
        ),
    )
    medical = c.Application(
        item_code="2-61",
        department_code="YB310115",
        applicant_kind="person",
        applicant_name="黄敏",
        applicant_id_number=person_id("310115", "19620101", "789"),
        delivery_preference="electronic",
        contact_phone="13800000003",
        materials=(c.MaterialIn("identity_document"), c.MaterialIn("filing_form")),
    )
    w, r = "clerk.cz", "reviewer.gz"
    front = [
        _do(c.pass_formal_review, w),
        _do(c.verify_identity, w, document_number=diploma.applicant_id_number),
        _do(c.forward, w),
    ]
    return [
        ("clerk.cz", diploma, []),
        (
            "clerk.cz",
            diploma,
            [_do(c.request_supplement, w, notice_items=["学历证书原件（毕业证书）"])],
        ),
        ("clerk.cz", diploma, front[:2]),
        ("clerk.cz", diploma, front),
        ("clerk.cz", diploma, [*front, _do(c.accept, r)]),
        (
            "clerk.cz",
            diploma,
            [
                *front,
                _do(c.accept, r),
                _do(c.mail_originals, w, carrier="中国邮政EMS", tracking_no="1100000000001"),
            ],
        ),
        (
            "clerk.cz",
            diploma,
            [
                *front,
                _do(c.accept, r),
                _do(c.mail_originals, w, carrier="中国邮政EMS", tracking_no="1100000000002"),
                _do(c.receive_originals, r),
                _do(c.approve, r),
                _do(
                    c.deliver, r, method="mail", carrier="中国邮政EMS", tracking_no="1100000000003"
                ),
                _do(c.complete, r),
            ],
        ),
        (
            "clerk.cz",
            diploma,
            [*front, _do(c.return_to_window, r, reasons=["学历证书复印件不清晰，请重新扫描"])],
        ),
        ("clerk.cz", diploma, [_do(c.not_accept, w, reasons=["申请事项不属于公证机构执业范围"])]),
        (
            "clerk.gc",
            card,
            [
                _do(c.pass_formal_review, "clerk.gc"),
                _do(c.verify_identity, "clerk.gc", document_number=card.applicant_id_number),
                _do(c.forward, "clerk.gc"),
                _do(c.accept, "reviewer.rs"),
                _do(c.approve, "reviewer.rs"),
            ],
        ),
        ("clerk.gc", card, [_do(c.withdraw, "clerk.gc", reasons=["申请人已回户籍地办理"])]),
        (
            "clerk.hz",
            medical,
            [
                _do(c.pass_formal_review, "clerk.hz"),
                _do(c.verify_identity, "clerk.hz", document_number=medical.applicant_id_number),
                _do(c.forward, "clerk.hz"),
                _do(c.accept, "reviewer.yb"),
                _do(c.approve, "reviewer.yb"),
                _do(c.deliver, "reviewer.yb", method="electronic"),
            ],
        ),
    ]


def load_demo(rt: Runtime, *, now: datetime) -> list[str]:
    """Load the catalog, guides, organisation and a dozen demo cases; return the case numbers."""
    load_catalog(rt.uow())
    load_guides(rt.uow(), now=now)
    load_org(rt)
    with rt.uow() as uow:
        actors = {name: load_actor(uow.session, name) for name, *_ in USERS}
        existing = list(uow.session.scalars(select(Case.case_no).order_by(Case.id)))
    if existing:
        # Restarting `serve --demo` on the same database keeps the cases it already has.
        return existing
    made = []
    for index, (clerk, application, steps) in enumerate(_cases()):
        # Spread the demo over the last few working days so clocks show varied urgency.
        at = now - timedelta(days=6 - index % 6, hours=index)
        view = c.register_case(
            rt.uow(), rt.key, actor=actors[clerk], application=application, now=at
        )
        for offset, step in enumerate(steps, start=1):
            step(rt, actors, view.case_no, at + timedelta(hours=2 * offset))
        made.append(view.case_no)
    return made
