"""The notification outbox: a failing channel loses nothing; retries back off; the log channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import structlog
from sqlalchemy import select

from tongban.models import OutboxMessage
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines import outbox
from tongban.services.deadlines.outbox import LogChannel, Message, dispatch, retry_delay
from tongban.services.deadlines.sweeper import sweep

from ..conftest import T0
from ..deadline_support import receive_at, sh
from ..world import World, build_world, diploma_application


class Flaky:
    """Fails the first `failures` sends, then records what it delivers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.delivered: list[Message] = []

    def send(self, message: Message) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("SMS gateway down")
        self.delivered.append(message)


@pytest.fixture
def world(rt: Runtime) -> World:
    w = build_world(rt)
    receive_at(w, diploma_application(), T0)
    assert sweep(rt.uow(), now=sh(2026, 3, 11, 17)).alerts == {"warning": 1}  # one message
    return w


def rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.uow() as uow:
        found = list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()
        return found


def test_failed_sends_stay_and_retry_with_backoff(world: World) -> None:
    rt = world.rt
    t = sh(2026, 3, 11, 17)
    channel = Flaky(failures=2)
    use = {"log": channel}
    first = timedelta(seconds=60)

    report = dispatch(rt.uow(), now=t, channels=use, max_attempts=5, first_retry=first)
    assert (report.sent, report.retried) == (0, 1)
    (row,) = rows(rt)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, t + first)
    assert row.last_error == "ConnectionError: SMS gateway down"

    # Not due yet: nothing is tried.
    early = dispatch(rt.uow(), now=t + timedelta(seconds=59), channels=use, first_retry=first)
    assert early.retried == 0
    assert channel.calls == 1
    # Second failure: the delay doubles.
    dispatch(rt.uow(), now=t + first, channels=use, max_attempts=5, first_retry=first)
    (row,) = rows(rt)
    assert (row.attempts, row.next_attempt_at) == (2, t + first + 2 * first)
    # Third try goes through.
    report = dispatch(rt.uow(), now=t + 3 * first, channels=use, max_attempts=5, first_retry=first)
    assert report.sent == 1
    (row,) = rows(rt)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        "sent",
        3,
        t + 3 * first,
        None,
    )
    (delivered,) = channel.delivered
    assert delivered.attempt == 3 and delivered.recipient == "office:CZ01"
    assert delivered.subject.startswith("【预警】")
    # Sent messages are not sent again.
    assert dispatch(rt.uow(), now=t + timedelta(days=1), channels=use).sent == 0


def test_giving_up_keeps_the_message(world: World) -> None:
    rt = world.rt
    t = sh(2026, 3, 11, 17)
    channel = Flaky(failures=99)
    for i in range(3):
        dispatch(rt.uow(), now=t + timedelta(hours=i), channels={"log": channel}, max_attempts=3)
    (row,) = rows(rt)
    assert (row.status, row.attempts) == ("failed", 3)
    assert dispatch(rt.uow(), now=t + timedelta(days=9), channels={"log": channel}).failed == 0
    assert channel.calls == 3


def test_unknown_channel_is_a_failure_not_a_loss(world: World) -> None:
    rt = world.rt
    report = dispatch(rt.uow(), now=sh(2026, 3, 11, 17), channels={"sms": Flaky(0)})
    assert report.retried == 1
    (row,) = rows(rt)
    assert row.status == "pending" and "no delivery channel named 'log'" in (row.last_error or "")


def test_log_channel_writes_one_structured_line(world: World) -> None:
    with structlog.testing.capture_logs() as logs:
        report = dispatch(world.rt.uow(), now=sh(2026, 3, 11, 17), channels={"log": LogChannel()})
    assert report.sent == 1
    (line,) = [e for e in logs if e["event"] == "notify.sent"]
    assert line["recipient"] == "office:CZ01" and "收件推送" in line["subject"]


def test_retry_delay_doubles_up_to_an_hour() -> None:
    first = timedelta(seconds=60)
    assert [retry_delay(n, first).total_seconds() for n in (1, 2, 3, 7, 8, 40)] == [
        60,
        120,
        240,
        3600,
        3600,
        3600,
    ]


def test_a_dispatcher_dying_mid_send_leaves_the_message_for_later(world: World) -> None:
    rt = world.rt
    t = sh(2026, 3, 11, 17)
    # A dispatcher claimed the batch, then its process died before recording the outcome.
    (claimed,) = outbox._claim(rt.uow(), t, 10, 0)
    assert claimed.attempt == 1
    channel = Flaky(failures=0)
    # Leased: nobody else sends it meanwhile...
    assert dispatch(rt.uow(), now=t + timedelta(minutes=4), channels={"log": channel}).sent == 0
    # ...and once the lease runs out it goes (again: delivery is at least once).
    assert dispatch(rt.uow(), now=t + outbox.SEND_LEASE, channels={"log": channel}).sent == 1
    (row,) = rows(rt)
    assert (row.status, row.attempts) == ("sent", 2)
