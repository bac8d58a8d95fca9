"""Idempotency keys: a request sent again with the same `Idempotency-Key` (same user) gets
the first answer back and changes nothing, so a client that retries after a timeout never
makes a second case or a second action.

`once` claims the key in a transaction of its own before the use case runs (a concurrent
retry then finds the claim and is told the first request is still running), runs the use
case, and records its answer in another transaction right after it commits. The case write
path (services.cases.store) commits with its own statements on PostgreSQL, so the answer
cannot share its transaction: a crash between the two leaves a claim with no answer, which
is given up after `PENDING_SECONDS` — at worst the key is forgotten, and a later retry runs
again as if it had none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from tongban.models import IdempotencyKey

from .errors import Conflict, InvalidInput
from .uow import UnitOfWork

# A claim without an answer older than this was left by a crashed request: given up.
PENDING_SECONDS = 120


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # JSON
    replayed: bool = False


def request_hash(method: str, path: str, body: Any, *extra: str | None) -> str:
    """The SHA-256 of what a request asks for: method, path, its validated body and any
    header that changes its meaning (If-Match)."""
    text = json.dumps(
        [method, path, body, *extra], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def once(
    uow: UnitOfWork,
    *,
    user_id: int,
    key: str,
    fingerprint: str,
    now: datetime,
    run: Callable[[], Answer],
) -> Answer:
    """`run()`'s answer, or the answer the first request with this key got."""
    first = _claim(uow, user_id=user_id, key=key, fingerprint=fingerprint, now=now)
    if first is not None:
        return first
    try:
        answer = run()
    except BaseException:
        _release(uow, user_id, key)
        raise
    with uow:
        uow.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .values(status=answer.status, body=answer.body)
        )
        uow.commit()
    return answer


def _claim(
    uow: UnitOfWork, *, user_id: int, key: str, fingerprint: str, now: datetime
) -> Answer | None:
    ttl = timedelta(hours=uow.rt.settings.idempotency_ttl_hours)
    stale = now - timedelta(seconds=PENDING_SECONDS)
    for _attempt in range(2):
        with uow:
            session = uow.session
            # This user's expired keys go, and a claim a crashed request left.
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id, IdempotencyKey.created_at < now - ttl
                )
            )
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.created_at < stale,
                )
            )
            row = session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
                )
            )
            if row is None:
                session.add(
                    IdempotencyKey(
                        user_id=user_id, key=key, request_hash=fingerprint, created_at=now
                    )
                )
                try:
                    uow.commit()
                except IntegrityError:
                    continue  # a concurrent request claimed it first: read its claim
                return None
            uow.commit()
            if row.request_hash != fingerprint:
                raise InvalidInput(
                    "Idempotency-Key：此键已用于另一个不同的请求。"
                    "重试时请原样重发同一请求；新的请求请换用新的键。",
                    code="idempotency.key_reused",
                    field="idempotency-key",
                )
            if row.status is None or row.body is None:
                raise _in_progress()
            return Answer(row.status, row.body, replayed=True)
    raise _in_progress()


def _in_progress() -> Conflict:
    return Conflict(
        "Idempotency-Key：使用此键的上一个请求仍在处理中，请稍后重试。",
        code="idempotency.in_progress",
        retry_after=5,
    )


def _release(uow: UnitOfWork, user_id: int, key: str) -> None:
    """Forget the claim of a request that failed (it changed nothing): a retry runs anew."""
    with uow:
        uow.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.key == key,
                IdempotencyKey.status.is_(None),
            )
        )
        uow.commit()
