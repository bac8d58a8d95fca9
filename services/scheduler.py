"""Running the sweeper on a timer (APScheduler 3.x, used only as a trigger).

Correctness never depends on the scheduler: its job store is the default in-memory one,
and what makes alerts exactly-once is the row claiming in services.sweeper. The interval job
coalesces missed runs into one and never overlaps itself (max_instances=1); any number of
processes (`tongban worker`, `tongban serve`) may run it against one database.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

from .outbox import DispatchReport, dispatch
from .sweeper import SweepReport, SweepSource, sweep
from .unattended import UnattendedReport, detect_unattended

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


def run_jobs(
    source: SweepSource, *, now: datetime | None = None, batch: int | None = None
) -> JobsReport:
    """One round: sweep the clocks, look for unattended inboxes, send the outbox.

    Each part runs on its own; one failing is logged and does not stop the others.
    """
    at = now or datetime.now(UTC)
    settings = source.settings
    report = JobsReport()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job="deadline-sweep", now=at.isoformat())
    try:
        report.sweep = sweep(source, now=at, batch=batch)
    except Exception:
        report.failures.append("sweep")
        log.exception("jobs.sweep_failed")
    try:
        report.unattended = detect_unattended(source, now=at)
    except Exception:
        report.failures.append("unattended")
        log.exception("jobs.unattended_failed")
    try:
        report.outbox = dispatch(
            source,
            now=at,
            max_attempts=settings.outbox_max_attempts,
            first_retry=timedelta(seconds=settings.outbox_retry_seconds),
        )
    except Exception:
        report.failures.append("outbox")
        log.exception("jobs.outbox_failed")
    finally:
        structlog.contextvars.clear_contextvars()
    return report


class SweeperHandle:
    """A running in-process sweeper; `shutdown()` stops it (idempotent)."""

    def __init__(self, scheduler: BackgroundScheduler | None, key: int) -> None:
        self._scheduler = scheduler
        self._key = key

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def shutdown(self, wait: bool = True) -> None:
        with _lock:
            entry = _running.get(self._key)
            if entry is None or entry[0] is not self._scheduler:
                return
            users = entry[1] - 1
            if users > 0:
                _running[self._key] = (entry[0], users)
                return
            del _running[self._key]
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("sweeper.stopped")


_lock = threading.Lock()
_running: dict[int, tuple[BackgroundScheduler, int]] = {}


def start_sweeper(source: SweepSource, *, interval_seconds: int | None = None) -> SweeperHandle:
    """Start sweeping every `sweep_interval_seconds` in a background thread, first run now.

    Idempotent per runtime: a second call (e.g. `tongban serve` and the web app's lifespan
    both asking) shares the running scheduler; each handle's shutdown() releases one use.
    """
    interval = interval_seconds or source.settings.sweep_interval_seconds
    key = id(source)
    with _lock:
        entry = _running.get(key)
        if entry is not None:
            _running[key] = (entry[0], entry[1] + 1)
            return SweeperHandle(entry[0], key)
        # One INFO line per run from APScheduler's executor is noise at a 60 s interval;
        # our own sweep.done line says what happened.
        executor_log = logging.getLogger("apscheduler.executors.default")
        if executor_log.level == logging.NOTSET:
            executor_log.setLevel(logging.WARNING)
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            run_jobs,
            "interval",
            seconds=interval,
            args=[source],
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=max(interval, 30),
        )
        scheduler.start()
        _running[key] = (scheduler, 1)
    log.info("sweeper.started", interval_seconds=interval)
    return SweeperHandle(scheduler, key)


__all__ = ["JobsReport", "SweeperHandle", "run_jobs", "start_sweeper"]
