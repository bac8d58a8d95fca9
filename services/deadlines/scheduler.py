"""Running the sweeper on a timer (APScheduler 3.x, used only as a trigger).

Correctness never depends on the scheduler: its job store is the default in-memory one,
and what makes alerts exactly-once is the row claiming in deadlines.sweeper. The interval
job coalesces missed runs into one and never overlaps itself (max_instances=1); any number
of processes (`tongban worker`, `tongban serve`) may run it against one database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

from ..core.uow import UnitOfWork
from .outbox import DispatchReport, dispatch
from .sweeper import SweepReport, sweep
from .unattended import UnattendedReport, detect_unattended

if TYPE_CHECKING:
    from ..core.runtime import Runtime

log = structlog.get_logger("tongban.scheduler")

JOB_ID = "tongban-deadline-sweep"


@dataclass
class JobsReport:
    sweep: SweepReport | None = None
    unattended: UnattendedReport | None = None
    outbox: DispatchReport | None = None
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "sweep": self.sweep.summary() if self.sweep else None,
            "unattended": self.unattended.alerted if self.unattended else None,
            "outbox": vars(self.outbox) if self.outbox else None,
            "failures": self.failures,
        }


def run_jobs(uow: UnitOfWork, *, now: datetime, batch: int | None = None) -> JobsReport:
    """One round at `now`: sweep the deadlines, look for unattended inboxes, send the outbox.

    Each part runs on its own; one failing is logged and does not stop the others.
    """
    settings = uow.rt.settings
    report = JobsReport()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job="deadline-sweep", now=now.isoformat())
    try:
        report.sweep = sweep(uow, now=now, batch=batch)
    except Exception:
        report.failures.append("sweep")
        log.exception("jobs.sweep_failed")
    try:
        report.unattended = detect_unattended(uow, now=now)
    except Exception:
        report.failures.append("unattended")
        log.exception("jobs.unattended_failed")
    try:
        report.outbox = dispatch(
            uow,
            now=now,
            max_attempts=settings.outbox_max_attempts,
            first_retry=timedelta(seconds=settings.outbox_retry_seconds),
        )
    except Exception:
        report.failures.append("outbox")
        log.exception("jobs.outbox_failed")
    finally:
        structlog.contextvars.clear_contextvars()
    return report


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Sweeper:
    """The deadline sweeper of one runtime, on a timer in a background thread."""

    def __init__(
        self, rt: Runtime, *, interval_seconds: int, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._rt = rt
        self._clock = clock
        self._rounds = 0
        self._done = threading.Condition()
        self.last: JobsReport | None = None
        # One INFO line per run from APScheduler's executor is noise at a 60 s interval;
        # our own sweep.done line says what happened.
        executor_log = logging.getLogger("apscheduler.executors.default")
        if executor_log.level == logging.NOTSET:
            executor_log.setLevel(logging.WARNING)
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._round,
            "interval",
            seconds=interval_seconds,
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),  # the first round at once
            misfire_grace_time=max(interval_seconds, 30),
        )
        self.interval_seconds = interval_seconds

    def _round(self) -> None:
        report = run_jobs(self._rt.uow(), now=self._clock())
        with self._done:
            self.last = report
            self._rounds += 1
            self._done.notify_all()

    def wait_for_rounds(self, count: int, timeout: float) -> bool:
        """Block until `count` rounds have finished (True), or `timeout` seconds pass."""
        with self._done:
            return self._done.wait_for(lambda: self._rounds >= count, timeout)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()
        log.info("sweeper.started", interval_seconds=self.interval_seconds)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the timer (idempotent); with `wait`, let a running round finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("sweeper.stopped")


def start_sweeper(
    rt: Runtime,
    *,
    interval_seconds: int | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> Sweeper:
    """The runtime's sweeper, started (first round at once) unless it already runs."""
    if rt.sweeper is not None and rt.sweeper.running:
        return rt.sweeper
    sweeper = Sweeper(
        rt, interval_seconds=interval_seconds or rt.settings.sweep_interval_seconds, clock=clock
    )
    sweeper.start()
    rt.sweeper = sweeper
    return sweeper
