"""`tongban bench signin`: how long a sign-in takes for a known username with a wrong
password, an unknown username, and the right password (median and p90 of N each,
interleaved), through the service layer on a fresh SQLite database. The first two must not
be told apart: both cost one Argon2id verification."""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from tongban.services.core.config import Settings
from tongban.services.core.errors import Unauthenticated
from tongban.services.core.runtime import open_runtime
from tongban.services.users.accounts import create_user, sign_in

PASSWORD = "压测用的密码-2026"
NEVER = 10**9  # no throttling while measuring


def run_signin_bench(*, rounds: int, out: TextIO) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'bench.db'}",
            audit_key=secrets.token_hex(32),
            session_secret=secrets.token_hex(32),
            signin_user_free=NEVER,
            signin_user_lock=NEVER + 1,
            signin_address_free=NEVER,
            signin_address_lock=NEVER + 1,
        )
        rt = open_runtime(settings, init=True)
        try:
            create_user(
                rt.uow(), username="bench.admin", display_name="压测管理员", role="admin",
                password=PASSWORD,
            )  # fmt: skip
            tries = {
                "known username, wrong password": ("bench.admin", "wrong-password"),
                "unknown username": ("nobody.here", "wrong-password"),
                "known username, right password": ("bench.admin", PASSWORD),
            }
            times: dict[str, list[float]] = {name: [] for name in tries}
            for _ in range(rounds):
                for name, (username, password) in tries.items():
                    started = time.perf_counter()
                    with suppress(Unauthenticated):
                        sign_in(
                            rt.uow(), username=username, password=password,
                            now=datetime.now(UTC), address="192.0.2.1",
                        )  # fmt: skip
                    times[name].append((time.perf_counter() - started) * 1000)
        finally:
            rt.close()
    out.write(f"sign-in through the service layer, SQLite, {rounds} rounds interleaved\n")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        out.write(f"  {name:32s} median {statistics.median(values):6.1f} ms   p90 {p90:6.1f} ms\n")
