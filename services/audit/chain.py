"""The audit chain: every action appends an event MAC'd (HMAC-SHA256) over the previous one.

Editing, deleting or reordering events — even by a database superuser bypassing the app —
breaks the recomputed chain, and the chain head kept on the case catches a cut-off tail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tongban.models import AuditEvent, Case

from ..core.errors import CaseNotFound, StaleVersion
from ..core.uow import STALE_MESSAGE, UnitOfWork
from ..users.actors import Actor
from .keys import AuditKey


class _Event(Protocol):
    """An event as the MAC reads it: a stored row, or a link about to be stored."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor_id(self) -> int | None: ...
    @property
    def actor_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str | None: ...
    @property
    def reasons(self) -> list[str]: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def key_id(self) -> str: ...
    @property
    def prev_mac(self) -> str: ...


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _message(case_no: str, event: _Event) -> bytes:
    body = {
        "case_no": case_no,
        "seq": event.seq,
        "at": _stamp(event.at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "role": event.role,
        "unit": event.unit,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "reasons": list(event.reasons),
        "payload": event.payload,
        "key_id": event.key_id,
        "prev": event.prev_mac,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def compute_mac(key: AuditKey, case_no: str, event: _Event) -> str:
    return hmac.new(key.secret, _message(case_no, event), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class Link:
    """One event of a case's chain, with its MAC: the columns of its audit_events row
    (all but case_id). Made by `next_link`, signed as it is made."""

    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    role: str
    unit: str
    action: str
    from_state: str | None
    to_state: str | None
    reasons: list[str]
    payload: dict[str, Any]
    key_id: str
    prev_mac: str
    mac: str = ""

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LINK_COLUMNS}


LINK_COLUMNS = tuple(f.name for f in fields(Link))


def next_link(
    key: AuditKey,
    case_no: str,
    *,
    seq: int,
    prev_mac: str,
    actor: Actor | None,
    action: str,
    at: datetime,
    from_state: str | None,
    to_state: str | None,
    reasons: Sequence[str] = (),
    payload: dict[str, Any] | None = None,
) -> Link:
    """The event after (`seq` - 1, `prev_mac`) in `case_no`'s chain, MAC'd under `key`.
    `actor` None is the system (the deadline sweeper)."""
    link = Link(
        seq=seq,
        at=at.astimezone(UTC),
        actor_id=actor.user_id if actor else None,
        actor_name=actor.display_name if actor else "system",
        role=actor.role.value if actor else "system",
        unit=actor.unit if actor else "system",
        action=action,
        from_state=from_state,
        to_state=to_state,
        reasons=[r.strip() for r in reasons if r.strip()],
        payload=payload or {},
        key_id=key.key_id,
        prev_mac=prev_mac,
    )
    link.mac = compute_mac(key, case_no, link)
    return link


def append_event(
    session: Session,
    key: AuditKey,
    case: Case,
    actor: Actor | None,
    *,
    action: str,
    at: datetime,
    from_state: str | None,
    to_state: str | None,
    reasons: Sequence[str] = (),
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append the next event of a loaded `case`'s chain and move the chain head on it."""
    link = next_link(
        key,
        case.case_no,
        seq=case.audit_seq + 1,
        prev_mac=case.audit_head,
        actor=actor,
        action=action,
        at=at,
        from_state=from_state,
        to_state=to_state,
        reasons=reasons,
        payload=payload,
    )
    event = AuditEvent(case_id=case.id, **link.columns())
    session.add(event)
    case.audit_seq = link.seq
    case.audit_head = link.mac
    return event


def append_note(
    session: Session,
    key: AuditKey,
    case: Case,
    actor: Actor | None,
    *,
    action: str,
    at: datetime,
    payload: dict[str, Any],
    touch: bool = False,
) -> Link:
    """Append an event that changes nothing of the case's state (a scan uploaded, a document
    issued). The chain head moves by a plain UPDATE at the head it was read at, not through
    the ORM, so the case's version stays and a form opened before still applies; a writer
    that moved the head meanwhile makes this one stale. `touch` also moves `updated_at`."""
    link = next_link(
        key,
        case.case_no,
        seq=case.audit_seq + 1,
        prev_mac=case.audit_head,
        actor=actor,
        action=action,
        at=at,
        from_state=case.state.value,
        to_state=case.state.value,
        payload=payload,
    )
    head = {"audit_seq": link.seq, "audit_head": link.mac}
    moved = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.audit_seq == case.audit_seq)
        .values(**head, **({"updated_at": at} if touch else {}))
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleVersion(STALE_MESSAGE)
    session.execute(insert(AuditEvent).values(case_id=case.id, **link.columns()))
    return link


@dataclass(frozen=True)
class ChainBreak:
    case_no: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.case_no} #{self.seq}" if self.seq is not None else self.case_no
        return f"{where}: {self.problem}"


class _Stored(_Event, Protocol):
    @property
    def mac(self) -> str: ...


def check_events(key: AuditKey, case_no: str, events: Sequence[_Stored]) -> list[ChainBreak]:
    """The breaks in the first events of a case's chain (1, 2, ... in order): a prefix of
    the chain checked as it stood when its last event was written (documents print it)."""
    return list(_check_links(key, case_no, events))


def _check_links(key: AuditKey, case_no: str, events: Sequence[_Stored]) -> Iterator[ChainBreak]:
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            yield ChainBreak(case_no, event.seq, f"序号不连续：应为 {expected_seq}")
        if event.prev_mac != prev:
            yield ChainBreak(case_no, event.seq, "前序校验值不符：事件被删除、插入或调换")
        if event.key_id != key.key_id:
            yield ChainBreak(
                case_no, event.seq, f"由另一把密钥（{event.key_id}）签署，无法用当前密钥验证"
            )
        elif not hmac.compare_digest(event.mac, compute_mac(key, case_no, event)):
            yield ChainBreak(case_no, event.seq, "内容与校验值不符：事件被改动")
        prev = event.mac


def _check_case(key: AuditKey, case: Case, events: list[AuditEvent]) -> Iterator[ChainBreak]:
    yield from _check_links(key, case.case_no, events)
    prev = events[-1].mac if events else ""
    if len(events) != case.audit_seq or prev != case.audit_head:
        yield ChainBreak(
            case.case_no,
            case.audit_seq,
            f"链尾与办件记录不符：办件记录 {case.audit_seq} 条，实有 {len(events)} 条"
            "（末尾事件被删除或追加）",
        )


def verify_chains(uow: UnitOfWork, case_no: str | None = None) -> list[ChainBreak]:
    """Recompute every chain (or one case's) with the runtime's key; return every break.
    A case number that names no case is CaseNotFound, not a clean chain.

    Events stream in (case, seq) order in one query, grouped per case, so verifying a large
    database costs two scans, not a query per case.
    """
    with uow:
        return _verify(uow.session, uow.rt.key, case_no)


def _verify(session: Session, key: AuditKey, case_no: str | None) -> list[ChainBreak]:
    cases_q = select(Case).order_by(Case.id)
    events_q = select(AuditEvent).order_by(AuditEvent.case_id, AuditEvent.seq, AuditEvent.id)
    if case_no is not None:
        cases_q = cases_q.where(Case.case_no == case_no)
        events_q = events_q.join(Case, Case.id == AuditEvent.case_id).where(Case.case_no == case_no)
    cases = {case.id: case for case in session.scalars(cases_q)}
    if case_no is not None and not cases:
        raise CaseNotFound(f"办件「{case_no}」不存在，无法校验其审计链。请核对办件编号。")
    breaks: list[ChainBreak] = []
    seen: set[int] = set()
    for case_id, events in groupby(session.scalars(events_q).yield_per(1000), lambda e: e.case_id):
        seen.add(case_id)
        case = cases.get(case_id)
        if case is None:
            breaks.append(ChainBreak(f"case id {case_id}", None, "事件所属办件不存在"))
            continue
        breaks.extend(_check_case(key, case, list(events)))
    for case_id in cases.keys() - seen:
        breaks.extend(_check_case(key, cases[case_id], []))
    return breaks
