"""The notification outbox: messages are rows written with the alert that caused them, and a
dispatcher hands them to a delivery channel afterwards.

Nothing is lost when a channel fails: the row stays `pending` with the error and a later
`next_attempt_at` (the delay doubles each attempt, capped at an hour), and after
`outbox_max_attempts` it becomes `failed`, kept for an administrator to look at. Delivery is
at least once: a process that dies between a send and its commit sends that message again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tongban.models import OutboxMessage

from ..core.uow import UnitOfWork

log = structlog.get_logger("tongban.outbox")

MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempt: int  # 1 for the first try


class Channel(Protocol):
    """A way to deliver a message (SMS gateway, government IM, e-mail...). Raise on failure."""

    def send(self, message: Message) -> None: ...


class LogChannel:
    """The default channel: one structured log line per message."""

    def send(self, message: Message) -> None:
        log.info(
            "notify.sent",
            outbox_id=message.id,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            attempt=message.attempt,
        )


DEFAULT_CHANNELS: Mapping[str, Channel] = {"log": LogChannel()}


def outbox_rows(
    *,
    channel: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    now: datetime,
    alert_id: int | None = None,
) -> list[dict[str, Any]]:
    """One pending message per recipient, as rows for `write_outbox`."""
    return [
        {
            "alert_id": alert_id,
            "channel": channel,
            "recipient": recipient[:120],
            "subject": subject[:200],
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "last_error": None,
            "sent_at": None,
        }
        for recipient in recipients
    ]


def write_outbox(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert messages in the current transaction: one executemany, no ids read back."""
    if rows:
        session.execute(insert(OutboxMessage), list(rows))


def enqueue(
    session: Session,
    *,
    channel: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    now: datetime,
    alert_id: int | None = None,
) -> None:
    """Add one pending message per recipient to the current transaction."""
    write_outbox(
        session,
        outbox_rows(
            channel=channel,
            recipients=recipients,
            subject=subject,
            body=body,
            now=now,
            alert_id=alert_id,
        ),
    )


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0  # gave up after the last attempt


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """The wait after the `attempts`-th failure: first, 2 x first, 4 x first ... up to 1 h."""
    return min(first * (1 << min(max(attempts - 1, 0), 20)), MAX_RETRY_DELAY)


def dispatch(
    uow: UnitOfWork,
    *,
    now: datetime,
    channels: Mapping[str, Channel] | None = None,
    batch: int = 100,
    max_attempts: int = 8,
    first_retry: timedelta = timedelta(seconds=60),
) -> DispatchReport:
    """Send the messages due at `now`, batch by batch, until none is left.

    Each batch is claimed in a short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
    SQLite has one writer) that counts the attempt and leases the rows for SEND_LEASE, so no
    other dispatcher takes them; the sends then run outside any transaction, holding no lock
    while a gateway is slow; a second transaction records each outcome. A dispatcher that
    dies mid-batch leaves its rows to be retried when the lease ends.
    """
    use = DEFAULT_CHANNELS if channels is None else channels
    report = DispatchReport()
    last_id = 0
    while True:
        messages = _claim(uow, now, batch, last_id)
        if not messages:
            return report
        last_id = messages[-1].id
        outcomes = [(m, _send(m, use)) for m in messages]
        with uow:
            for message, error in outcomes:
                row = uow.session.get_one(OutboxMessage, message.id)
                _record(row, error, now, report, max_attempts, first_retry)
            uow.commit()


SEND_LEASE = timedelta(minutes=5)


def _claim(uow: UnitOfWork, now: datetime, batch: int, after_id: int) -> list[Message]:
    with uow:
        session = uow.session
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        messages = []
        for row in session.scalars(stmt):
            row.attempts += 1
            row.next_attempt_at = now + SEND_LEASE
            messages.append(
                Message(row.id, row.channel, row.recipient, row.subject, row.body, row.attempts)
            )
        uow.commit()
    return messages


def _send(message: Message, channels: Mapping[str, Channel]) -> str | None:
    """None when the channel took the message, else the error."""
    try:
        channel = channels.get(message.channel)
        if channel is None:
            raise LookupError(f"no delivery channel named {message.channel!r} is configured")
        channel.send(message)
    except Exception as err:  # any channel failure: keep the row, try again later
        return f"{type(err).__name__}: {err}"[:2000]
    return None


def _record(
    row: OutboxMessage,
    error: str | None,
    now: datetime,
    report: DispatchReport,
    max_attempts: int,
    first_retry: timedelta,
) -> None:
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
        report.sent += 1
        return
    row.last_error = error
    if row.attempts >= max_attempts:
        row.status = "failed"
        report.failed += 1
        log.error("notify.gave_up", outbox_id=row.id, attempts=row.attempts, error=error)
        return
    row.next_attempt_at = now + retry_delay(row.attempts, first_retry)
    report.retried += 1
    log.warning(
        "notify.retry",
        outbox_id=row.id,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at.isoformat(),
        error=error,
    )
