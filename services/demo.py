"""Demo data: offices, departments, users and a dozen cases in varied states."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tongban.models import Case, Department, Item, Office, User
from tongban.workflow.commands import (
    Accept,
    Application,
    Approve,
    CaseCommand,
    Complete,
    Decline,
    Deliver,
    Forward,
    MailOriginals,
    MaterialIn,
    NotAccept,
    PassFormalReview,
    ReceiveOriginals,
    RequestSupplement,
    ReturnOriginals,
    ReturnToWindow,
    SendToWindow,
    StartSpecialProcedure,
    VerifyIdentity,
    Withdraw,
)
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.holds import SpecialProcedure
from tongban.workflow.identity import ApplicantKind, id_check_char

from .cases.act import act
from .cases.receive import receive
from .catalog.items import load_catalog
from .core.uow import UnitOfWork
from .departments.registry import declare_items
from .files.materials import upload
from .files.samples import pdf_of_size
from .guides.store import load_guides
from .users.accounts import create_user
from .users.actors import Actor, load_actor

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
# The items each demo department declares it handles (routing).
DEPARTMENT_ITEMS = {
    "GZ330106": ("1-01",),
    "RS320102": ("2-21",),
    "YB310115": ("2-61",),
    "RS341700": ("2-21",),
}
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


# How applicants reach each demo window (printed on its receipts).
OFFICE_CONTACTS = {
    "CZ01": "池州市贵池区长江中路 1 号市政务服务中心一楼 12 号窗口，电话 0566-2000001",
    "GC01": "池州市贵池区秋浦西路 88 号区政务服务中心二楼，电话 0566-2000002",
    "HZ01": "杭州市江干区解放东路 18 号市民中心 D 座一楼，电话 0571-2000003",
}


def person_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + id_check_char(body)


def load_org(uow: UnitOfWork) -> None:
    """The demo offices, departments and users that are not there yet."""
    with uow:
        session = uow.session
        known = set(session.scalars(select(Office.code)))
        for code, name, region in OFFICES:
            if code not in known:
                session.add(
                    Office(
                        code=code,
                        name=name,
                        region_code=region,
                        contact=OFFICE_CONTACTS.get(code, ""),
                    )
                )
        known = set(session.scalars(select(Department.code)))
        for code, name, region in DEPARTMENTS:
            if code not in known:
                session.add(Department(code=code, name=name, region_code=region))
        uow.commit()
    with uow.reading():
        catalogued = uow.session.scalar(select(func.count(Item.id)))
    if catalogued:  # the catalog is loaded first; without it there is nothing to route
        for code, items in DEPARTMENT_ITEMS.items():
            declare_items(uow, code, items)
    with uow:
        existing = set(uow.session.scalars(select(User.username)))
    for username, display, role, unit in USERS:
        if username not in existing:
            create_user(
                uow,
                username=username,
                display_name=display,
                role=role,
                password=DEMO_PASSWORD,
                **unit,
            )


# A demo step: who acts, and the command without its case number (filled in per case).
Step = tuple[str, type[CaseCommand], dict[str, object]]


def _front(clerk: str, document: str) -> list[Step]:
    return [
        (clerk, PassFormalReview, {}),
        (clerk, VerifyIdentity, {"document_number": document}),
        (clerk, Forward, {}),
    ]


def _cases() -> list[tuple[str, Application, list[Step]]]:
    diploma = Application(
        item_code="1-01",
        department_code="GZ330106",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="张伟",
        applicant_id_number=person_id("341702", "19900315", "123"),
        delivery_preference=DeliveryMethod.MAIL,
        delivery_address="安徽省池州市贵池区长江中路1号",
        contact_phone="13800000001",
        materials=(MaterialIn("id_card"), MaterialIn("diploma"), MaterialIn("application_form")),
    )
    card = Application(
        item_code="2-21",
        department_code="RS320102",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="刘洋",
        applicant_id_number=person_id("320102", "19880720", "456"),
        delivery_preference=DeliveryMethod.WINDOW,
        contact_phone="13800000002",
        materials=(MaterialIn("id_card"), MaterialIn("photo"), MaterialIn("application_form")),
    )
    medical = Application(
        item_code="2-61",
        department_code="YB310115",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="黄敏",
        applicant_id_number=person_id("310115", "19620101", "789"),
        delivery_preference=DeliveryMethod.ELECTRONIC,
        contact_phone="13800000003",
        materials=(MaterialIn("identity_document"), MaterialIn("filing_form")),
    )
    w, r = "clerk.cz", "reviewer.gz"
    front = _front(w, diploma.applicant_id_number)
    mail = {"carrier": "中国邮政EMS"}
    return [
        (w, diploma, []),
        (w, diploma, [(w, RequestSupplement, {"notice_items": ("学历证书原件（毕业证书）",)})]),
        (w, diploma, front[:2]),
        (w, diploma, front),
        (w, diploma, [*front, (r, Accept, {})]),
        (w, diploma, [*front, (r, Accept, {}),
                      (w, MailOriginals, {**mail, "tracking_no": "1100000000001"})]),
        (w, diploma, [*front, (r, Accept, {}),
                      (w, MailOriginals, {**mail, "tracking_no": "1100000000002"}),
                      (r, ReceiveOriginals, {}), (r, Approve, {}),
                      (r, Deliver, {"method": DeliveryMethod.MAIL, **mail,
                                    "tracking_no": "1100000000003"}),
                      (r, ReturnOriginals, {**mail, "tracking_no": "1100000000004"}),
                      (r, Complete, {})]),
        (w, diploma, [*front,
                      (r, ReturnToWindow, {"reasons": ("学历证书复印件不清晰，请重新扫描",)})]),
        (w, diploma, [(w, Decline, {"reasons": ("申请人不愿补正材料",)})]),
        (w, diploma, [*front, (r, NotAccept, {
            "reasons": ("申请事项不属于本公证处执业区域",),
            "legal_basis": "《公证法》第二十五条、《公证程序规则》第十九条",
            "review_body": "浙江省司法厅", "court": "杭州市西湖区人民法院"})]),
        ("clerk.gc", card, [*_front("clerk.gc", card.applicant_id_number),
                            ("reviewer.rs", Accept, {}), ("reviewer.rs", Approve, {}),
                            ("reviewer.rs", SendToWindow, {})]),
        ("clerk.gc", card, [*_front("clerk.gc", card.applicant_id_number),
                            ("reviewer.rs", Accept, {}),
                            ("reviewer.rs", StartSpecialProcedure, {
                                "procedure": SpecialProcedure.APPRAISAL, "expected_days": 5,
                                "reasons": ("申请人工伤认定须作劳动能力鉴定",)})]),
        ("clerk.gc", card, [("clerk.gc", Withdraw, {"reasons": ("申请人已回户籍地办理",)})]),
        ("clerk.hz", medical, [*_front("clerk.hz", medical.applicant_id_number),
                               ("reviewer.yb", Accept, {}), ("reviewer.yb", Approve, {}),
                               ("reviewer.yb", Deliver, {"method": DeliveryMethod.ELECTRONIC})]),
    ]  # fmt: skip


def _scan(
    uow: UnitOfWork, case_no: str, application: Application, clerk: Actor, at: datetime
) -> None:
    """A small one-page PDF for each material handed in, as a window scans them."""
    for m in application.materials:
        data = pdf_of_size(4096, f"{case_no} {m.code} (demo scan)")
        upload(uow, case_no=case_no, slot=m.code, filename=f"{m.code}.pdf",
               stream=io.BytesIO(data), actor=clerk, now=at)  # fmt: skip


def load_demo(uow: UnitOfWork, *, now: datetime) -> list[str]:
    """Load the catalog, guides, organisation and a dozen demo cases; return the case numbers."""
    load_catalog(uow)
    load_guides(uow, now=now)
    load_org(uow)
    with uow:
        existing = list(uow.session.scalars(select(Case.case_no).order_by(Case.id)))
    if existing:
        # Restarting `serve --demo` on the same database keeps the cases it already has.
        return existing
    actors = {name: load_actor(uow, name) for name, *_ in USERS}
    made = []
    for index, (clerk, application, steps) in enumerate(_cases()):
        # Spread the demo over the last few working days so deadlines show varied urgency.
        at = now - timedelta(days=6 - index % 6, hours=index)
        case_no = receive(uow, application, actor=actors[clerk], now=at).case_no
        if index > 0:  # the newest case still waits for its scans
            _scan(uow, case_no, application, actors[clerk], at + timedelta(minutes=10))
        for offset, (who, command, fields) in enumerate(steps, start=1):
            act(
                uow,
                command(case_no=case_no, **fields),  # type: ignore[arg-type]
                actor=actors[who],
                now=at + timedelta(hours=2 * offset),
            )
        made.append(case_no)
    return made
