"""Action name -> (service function, request model): the one table the JSON API and the
workbench forms dispatch through. No rule lives here; the services decide."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tongban.services import cases as c
from tongban.services.actors import Actor
from tongban.services.errors import InvalidInput, NotFound
from tongban.services.runtime import Runtime

from .schemas import (
    ActionIn,
    DeliverIn,
    IdentityIn,
    MailIn,
    NoFieldsIn,
    NoticeIn,
    OptionalReasonsIn,
    ReasonsIn,
    SupplementIn,
)


def _fields(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude={"version"}, exclude_none=True)


def _materials(body: BaseModel) -> dict[str, Any]:
    assert isinstance(body, SupplementIn)
    return {
        "materials": [c.MaterialIn(m.code, m.copies, m.e_licence_verified) for m in body.materials]
    }


@dataclass(frozen=True)
class ActionSpec:
    service: Callable[..., c.CaseView]
    body: type[ActionIn]
    kwargs: Callable[[BaseModel], dict[str, Any]] = _fields

    @property
    def fields(self) -> list[str]:
        return [name for name in self.body.model_fields if name != "version"]


ACTIONS: Mapping[str, ActionSpec] = {
    "pass_formal_review": ActionSpec(c.pass_formal_review, NoFieldsIn),
    "request_supplement": ActionSpec(c.request_supplement, NoticeIn),
    "supplement": ActionSpec(c.record_supplement, SupplementIn, _materials),
    "not_accept": ActionSpec(c.not_accept, ReasonsIn),
    "verify_identity": ActionSpec(c.verify_identity, IdentityIn),
    "fail_identity": ActionSpec(c.fail_identity, ReasonsIn),
    "forward": ActionSpec(c.forward, NoFieldsIn),
    "accept": ActionSpec(c.accept, NoFieldsIn),
    "return_to_window": ActionSpec(c.return_to_window, ReasonsIn),
    "mail_originals": ActionSpec(c.mail_originals, MailIn),
    "receive_originals": ActionSpec(c.receive_originals, NoFieldsIn),
    "approve": ActionSpec(c.approve, OptionalReasonsIn),
    "refuse": ActionSpec(c.refuse, ReasonsIn),
    "deliver": ActionSpec(c.deliver, DeliverIn),
    "complete": ActionSpec(c.complete, NoFieldsIn),
    "withdraw": ActionSpec(c.withdraw, OptionalReasonsIn),
}


def spec_of(action: str) -> ActionSpec:
    spec = ACTIONS.get(action)
    if spec is None:
        known = "、".join(ACTIONS)
        raise NotFound(
            f"没有「{action[:32]}」这个操作。可用的操作：{known}。", code="action.unknown"
        )
    return spec


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: "3"` (also W/"3" or 3) -> 3."""
    if value is None:
        return None
    tag = value.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not (tag.isascii() and tag.isdigit() and 0 < len(tag) <= 10):
        raise InvalidInput(
            'If-Match：应为案件版本号，如 "3"（取自案件详情的 version 或 ETag）。',
            field="if-match",
        )
    return int(tag)


def expected_version(body_version: int | None, if_match: str | None) -> int | None:
    header_version = parse_if_match(if_match)
    if body_version is not None and header_version is not None and body_version != header_version:
        raise InvalidInput(
            f"version：请求体中的版本（{body_version}）与 If-Match（{header_version}）不一致。",
            field="version",
        )
    return body_version if body_version is not None else header_version


def run_action(
    rt: Runtime,
    *,
    actor: Actor,
    case_no: str,
    action: str,
    body: ActionIn,
    now: datetime,
    if_match: str | None = None,
) -> c.CaseView:
    spec = spec_of(action)
    return spec.service(
        rt.uow(),
        rt.key,
        actor=actor,
        case_no=case_no,
        now=now,
        expected_version=expected_version(body.version, if_match),
        **spec.kwargs(body),
    )
