"""No input reaches a 500: random JSON, near-valid bodies and odd headers against the action,
registration and list endpoints, on both databases."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongban.workflow.actions import ACTIONS_BY_NAME
from tongban.workflow.commands import CaseCommand, Forward, PassFormalReview, VerifyIdentity

from ..world import World, card_application, diploma_application
from .conftest import register

Clients = Any

NASTY = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\u202e", "\ufeff", "𠀀", "%", "_", "\\", "'"]
)
TEXT = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.builds(lambda a, n, b: a + n + b, st.text(max_size=5), NASTY, st.text(max_size=5)),
    st.text(min_size=600, max_size=700),
)
INTS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 2, 2**31, -1]))
SCALARS = st.one_of(
    st.none(), st.booleans(), INTS, st.floats(allow_nan=True, allow_infinity=True), TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=12,
)

ID_NUMBER = diploma_application().applicant_id_number
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "version": st.one_of(INTS, TEXT, st.none()),
    "reasons": st.one_of(st.lists(TEXT, max_size=3), JSON),
    "notice_items": st.one_of(st.lists(TEXT, max_size=3), JSON),
    "materials": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"code": st.sampled_from(["diploma", "id_card", "nope", "\x00"])},
                optional={"copies": INTS, "e_licence_verified": SCALARS},
            ),
            max_size=3,
        ),
        JSON,
    ),
    "document_number": st.one_of(st.just(ID_NUMBER), TEXT, INTS),
    "carrier": st.one_of(st.just("EMS"), TEXT),
    "tracking_no": st.one_of(st.just("1100000000001"), TEXT),
    "method": st.one_of(st.sampled_from(["mail", "electronic", "window"]), TEXT),
}
VALID: dict[str, Any] = {
    "reasons": ["材料不全"],
    "notice_items": ["学历证书原件"],
    "materials": [{"code": "diploma"}],
    "document_number": ID_NUMBER,
    "carrier": "中国邮政EMS",
    "tracking_no": "1100000000001",
    "method": "mail",
}


@st.composite
def near_valid(draw: st.DrawFn, valid: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A valid body with up to three fields replaced, dropped or added."""
    body = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)):
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(values[name])
    return body


BODY = st.one_of(near_valid(VALID, FIELD_VALUES), JSON)
ACTION = st.one_of(
    st.sampled_from(sorted(ACTIONS_BY_NAME)), st.sampled_from(["fly", "%2e%2e", "A" * 70])
)
WHO = st.sampled_from(["clerk.cz", "reviewer.gz", "supervisor.cz", "admin"])
IF_MATCH = st.one_of(
    st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
)

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(body: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \\udXXX escapes, which the server must refuse.
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


def _cases(world: World) -> list[str]:
    received = register(world, diploma_application("101"))
    forwarded = register(world, diploma_application())
    steps: tuple[tuple[type[CaseCommand], dict[str, Any]], ...] = (
        (PassFormalReview, {}),
        (VerifyIdentity, {"document_number": ID_NUMBER}),
        (Forward, {}),
    )
    for command, fields in steps:
        world.act(command, "clerk.cz", forwarded, **fields)
    return [received, forwarded, "CZ01-19990101-0001"]


def test_no_action_body_reaches_a_500(world: World, client_for: Clients) -> None:
    case_nos = _cases(world)
    for who in ("clerk.cz", "reviewer.gz", "supervisor.cz", "admin"):
        client_for(who)  # sign in once, outside the examples

    @FUZZ
    @given(
        who=WHO,
        case_no=st.sampled_from(case_nos),
        action=ACTION,
        body=BODY,
        if_match=IF_MATCH,
        raw=st.booleans(),
    )
    def run(
        who: str, case_no: str, action: str, body: Any, if_match: str | None, raw: bool
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if if_match is not None:
            headers["If-Match"] = if_match
        content = _encode(body)[:-1] if raw else _encode(body)  # raw: truncated, malformed
        r = client_for(who).post(
            f"/api/cases/{case_no}/actions/{action}", content=content, headers=headers
        )
        assert r.status_code < 500, (r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"]

    run()


REGISTER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "item_code": st.one_of(st.sampled_from(["1-01", "2-21", "3-08", "9-99"]), TEXT),
    "department_code": st.one_of(st.sampled_from(["GZ330106", "RS320102"]), TEXT),
    "applicant_kind": st.one_of(st.sampled_from(["person", "company"]), TEXT),
    "applicant_name": TEXT,
    "applicant_id_number": st.one_of(st.just(ID_NUMBER), TEXT),
    "delivery_preference": st.one_of(st.sampled_from(["mail", "electronic", "window"]), TEXT),
    "materials": FIELD_VALUES["materials"],
    "contact_phone": TEXT,
    "delivery_address": TEXT,
}


VALID_REGISTRATION: dict[str, Any] = {
    "item_code": "1-01",
    "department_code": "GZ330106",
    "applicant_kind": "person",
    "applicant_name": "张伟",
    "applicant_id_number": ID_NUMBER,
    "delivery_preference": "window",
    "materials": [{"code": "id_card"}, {"code": "diploma"}, {"code": "application_form"}],
}


def test_no_registration_or_query_reaches_a_500(world: World, client_for: Clients) -> None:
    clerk = client_for("clerk.cz")
    register(world, card_application(), clerk="clerk.gc")

    @FUZZ
    @given(
        body=st.one_of(near_valid(VALID_REGISTRATION, REGISTER_FIELDS), JSON),
        params=st.fixed_dictionaries(
            {},
            optional={
                "state": st.one_of(st.sampled_from(["received", "forwarded"]), TEXT),
                "q": st.one_of(st.sampled_from(["张", "1-01"]), TEXT),
                "page": st.one_of(INTS, TEXT),
                "per_page": st.one_of(INTS, TEXT),
            },
        ),
    )
    def run(body: Any, params: dict[str, Any]) -> None:
        r = clerk.post(
            "/api/cases", content=_encode(body), headers={"Content-Type": "application/json"}
        )
        assert r.status_code < 500, (r.status_code, r.text)
        safe = {k: str(v).encode("utf-8", "replace").decode() for k, v in params.items()}
        r = clerk.get("/api/cases", params=safe)
        assert r.status_code < 500, (r.status_code, r.text)

    run()
