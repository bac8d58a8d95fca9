"""pgbench's single-client tpcb-like TPS on the same server: what one client can commit per
second there, to measure the service layer against."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from typing import TextIO

from sqlalchemy import create_engine, make_url, text


def pgbench_tps(url: str, seconds: int, out: TextIO) -> float | None:
    """Run pgbench for `seconds` in a scratch database next to `url`'s; None without pgbench."""
    exe = shutil.which("pgbench")
    if exe is None:
        out.write("\npgbench not on PATH (Debian: postgresql-client): no comparison figure.\n")
        return None
    u = make_url(url)
    scratch = f"tongban_pgbench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    conn_args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
                 "-U", u.username or "postgres"]  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {scratch}"))
    try:
        subprocess.run([exe, *conn_args, "-i", "-q", "-s", "1", scratch],
                       check=True, capture_output=True)  # fmt: skip
        run = subprocess.run(
            [exe, *conn_args, "-c", "1", "-j", "1", "-T", str(seconds), "-b", "tpcb-like", scratch],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {scratch}"))
        admin.dispose()
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        out.write(f"\ncould not read pgbench output:\n{run.stdout}\n")
        return None
    tps = float(match.group(1))
    out.write(f"\n== pgbench tpcb-like, 1 client, {seconds} s: {tps:,.0f} TPS ==\n")
    return tps
