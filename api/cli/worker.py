"""`tongban worker`: the deadline sweeper (alerts, unattended inboxes, outbox) on its own."""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.deadlines.scheduler import run_jobs, start_sweeper

from .common import fail, instant, runtime


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    now: Annotated[
        str | None, typer.Option(help="With --once: sweep as of this instant (ISO).")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Deadlines claimed per transaction.")] = None,
    interval: Annotated[int | None, typer.Option(help="Seconds between rounds.")] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rounds (default: Ctrl-C).")
    ] = None,
) -> None:
    """Run the deadline sweeper (alerts, unattended inboxes, outbox) without the web server."""
    if now is not None and not once:
        raise typer.BadParameter("--now 只能与 --once 一起使用")
    if rounds is not None and once:
        raise typer.BadParameter("--rounds 不能与 --once 一起使用")
    try:
        with runtime() as rt:
            if once:
                report = run_jobs(rt.uow(), now=instant(now), batch=batch)
                typer.echo(json.dumps(report.summary(), ensure_ascii=False))
                if report.failures:
                    raise typer.Exit(1)
                return
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            sweeper = start_sweeper(rt, interval_seconds=interval)
            typer.echo("sweeper running; Ctrl-C to stop", err=True)
            while not stop.wait(1.0):
                if rounds is not None and sweeper.wait_for_rounds(rounds, 0):
                    break
    except DomainError as err:
        fail(err)
