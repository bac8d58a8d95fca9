"""A sweeper in a separate OS process (multiprocessing 'spawn' imports this module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tongban.services.core.config import Settings
from tongban.services.core.runtime import open_runtime
from tongban.services.deadlines.sweeper import sweep


def run_sweep(url: str, key_hex: str, now_iso: str, batch: int, barrier: Any, out: Any) -> None:
    rt = open_runtime(Settings(database_url=url, audit_key=key_hex, log_level="WARNING"))
    try:
        barrier.wait(timeout=60)  # both processes start sweeping at the same moment
        report = sweep(rt.uow(), now=datetime.fromisoformat(now_iso), batch=batch)
        out.put(report.summary())
    finally:
        rt.close()
