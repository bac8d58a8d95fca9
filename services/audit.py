"""The audit chain: every action appends an event MAC'd (HMAC-SHA256) over the previous one.

Editing, deleting or reordering events — even by a database superuser bypassing the app —
breaks the recomputed chain, and the chain head kept on the case catches a cut-off tail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import AuditEvent, Case

from .actors import Actor
from .config import Settings
from .errors import ConfigurationError


@dataclass(frozen=True)
class AuditKey:
    secret: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"tongban-audit-key-id:" + self.secret).hexdigest()[:16]


def _parse_key(text: str, where: str) -> AuditKey:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError(f"{where}：审计密钥应为十六进制字符串。") from None
    if len(secret) < 16:
        raise ConfigurationError(f"{where}：审计密钥太短（至少16字节，即32个十六进制字符）。")
    return AuditKey(secret)


def load_audit_key(settings: Settings) -> AuditKey:
    if settings.audit_key:
        return _parse_key(settings.audit_key, "TONGBAN_AUDIT_KEY")
    path = settings.audit_key_file
    if path.exists():
        return _parse_key(path.read_text(encoding="utf-8"), str(path))
    raise ConfigurationError(
        f"未配置审计密钥：请设置 TONGBAN_AUDIT_KEY，或运行 `tongban init` 生成 {path}。",
        code="config.audit_key_missing",
    )


def ensure_audit_key(settings: Settings) -> tuple[AuditKey, bool]:
    """The configured key, or a new one written to the key file (0600). True when created."""
    if settings.audit_key or settings.audit_key_file.exists():
        return load_audit_key(settings), False
    path: Path = settings.audit_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return load_audit_key(settings), True


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _message(case_no: str, event: AuditEvent) -> bytes:
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


def compute_mac(key: AuditKey, case_no: str, event: AuditEvent) -> str:
    return hmac.new(key.secret, _message(case_no, event), hashlib.sha256).hexdigest()


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
    """Append the next event of `case`'s chain and move the chain head on the case."""
    event = AuditEvent(
        case_id=case.id,
        seq=case.audit_seq + 1,
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
        prev_mac=case.audit_head,
    )
    event.mac = compute_mac(key, case.case_no, event)
    session.add(event)
    case.audit_seq = event.seq
    case.audit_head = event.mac
    return event


@dataclass(frozen=True)
class ChainBreak:
    case_no: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.case_no} #{self.seq}" if self.seq is not None else self.case_no
        return f"{where}: {self.problem}"


def _check_case(key: AuditKey, case: Case, events: list[AuditEvent]) -> Iterator[ChainBreak]:
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            yield ChainBreak(case.case_no, event.seq, f"序号不连续：应为 {expected_seq}")
        if event.prev_mac != prev:
            yield ChainBreak(case.case_no, event.seq, "前序校验值不符：事件被删除、插入或调换")
        if event.key_id != key.key_id:
            yield ChainBreak(
                case.case_no, event.seq, f"由另一把密钥（{event.key_id}）签署，无法用当前密钥验证"
            )
        elif not hmac.compare_digest(event.mac, compute_mac(key, case.case_no, event)):
            yield ChainBreak(case.case_no, event.seq, "内容与校验值不符：事件被改动")
        prev = event.mac
    if len(events) != case.audit_seq or prev != case.audit_head:
        yield ChainBreak(
            case.case_no,
            case.audit_seq,
            f"链尾与案件记录不符：案件记录 {case.audit_seq} 条，实有 {len(events)} 条"
            "（末尾事件被删除或追加）",
        )


def verify_chains(session: Session, key: AuditKey, case_no: str | None = None) -> list[ChainBreak]:
    """Recompute every chain (or one case's); return every break found.

    Events stream in (case, seq) order in one query, grouped per case, so verifying a large
    database costs two scans, not a query per case.
    """
    cases_q = select(Case).order_by(Case.id)
    events_q = select(AuditEvent).order_by(AuditEvent.case_id, AuditEvent.seq, AuditEvent.id)
    if case_no is not None:
        cases_q = cases_q.where(Case.case_no == case_no)
        events_q = events_q.join(Case, Case.id == AuditEvent.case_id).where(Case.case_no == case_no)
    cases = {case.id: case for case in session.scalars(cases_q)}
    breaks: list[ChainBreak] = []
    seen: set[int] = set()
    for case_id, events in groupby(session.scalars(events_q).yield_per(1000), lambda e: e.case_id):
        seen.add(case_id)
        case = cases.get(case_id)
        if case is None:
            breaks.append(ChainBreak(f"case id {case_id}", None, "事件所属案件不存在"))
            continue
        breaks.extend(_check_case(key, case, list(events)))
    for case_id in cases.keys() - seen:
        breaks.extend(_check_case(key, cases[case_id], []))
    return breaks
