"""`tongban bench transitions|deadlines|http|signin`: benchmarks that print figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tongban.benchmarks.deadlines import run_deadlines_bench
from tongban.benchmarks.files import run_files_bench
from tongban.benchmarks.http import run_http_bench
from tongban.benchmarks.signin import run_signin_bench
from tongban.benchmarks.transitions import run_transitions_bench
from tongban.services.core.logs import configure_logging

bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)

PostgresUrl = Annotated[
    str | None, typer.Option("--postgres", help="PostgreSQL URL (postgresql+psycopg://...).")
]


@bench_app.command("transitions")
def bench_transitions(
    cases: Annotated[int, typer.Option(min=1, help="Full lifecycles per database.")] = 300,
    postgres: PostgresUrl = None,
) -> None:
    """Full lifecycles through the service layer on SQLite (and PostgreSQL): transitions/s,
    p50/p99 per action, the same statements replayed on the bare driver, pgbench's
    single-client TPS, and two processes against one."""
    configure_logging(level="WARNING")
    run_transitions_bench(cases=cases, postgres_url=postgres, out=sys.stdout)


@bench_app.command("deadlines")
def bench_deadlines(
    postgres: PostgresUrl = None,
    sizes: Annotated[str, typer.Option(help="Open deadlines, comma-separated.")] = "100000,1000000",
    due: Annotated[int, typer.Option(help="Deadlines due at the sweep.")] = 10_000,
    batch: Annotated[int, typer.Option(help="Deadlines claimed per transaction.")] = 500,
) -> None:
    """Sweep 10k due deadlines among 100k and 1M open ones; print times and the claim plan."""
    configure_logging(level="WARNING")
    counts = tuple(int(s.replace("_", "")) for s in sizes.split(",") if s.strip())
    run_deadlines_bench(postgres_url=postgres, sizes=counts, due=due, batch=batch, out=sys.stdout)


@bench_app.command("http")
def bench_http(
    postgres: PostgresUrl = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="uvicorn worker processes.")] = 1,
    cases: Annotated[int, typer.Option(min=1, help="Full lifecycles driven over HTTP.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight.")] = 8,
) -> None:
    """Full lifecycles through the JSON API of a real uvicorn on PostgreSQL, against the
    service-layer rate measured in the same run."""
    configure_logging(level="WARNING")
    run_http_bench(
        postgres_url=postgres, workers=workers, cases=cases, concurrency=concurrency,
        out=sys.stdout,
    )  # fmt: skip


@bench_app.command("signin")
def bench_signin(
    rounds: Annotated[int, typer.Option(min=1, help="Sign-ins of each kind.")] = 20,
) -> None:
    """Sign-in time for a known username with a wrong password, an unknown username and the
    right password: the first two must be indistinguishable."""
    configure_logging(level="WARNING")
    run_signin_bench(rounds=rounds, out=sys.stdout)


@bench_app.command("files")
def bench_files(
    count: Annotated[int, typer.Option(min=1, help="Files to upload.")] = 1000,
    size_kib: Annotated[int, typer.Option(min=1, help="Size of each file, KiB.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Uploads in flight.")] = 4,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Work folder's parent (the disk measured).")
    ] = None,
) -> None:
    """Upload throughput through the JSON API of a real uvicorn, against a plain copy of
    the same files on the same disk."""
    configure_logging(level="WARNING")
    run_files_bench(
        count=count, size=size_kib * 1024, concurrency=concurrency,
        folder=folder or Path.cwd(), out=sys.stdout,
    )  # fmt: skip
