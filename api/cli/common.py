"""What every command shares: the runtime from the environment, domain errors as one red
line and exit code 2, and instants given on the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import typer

from tongban.services.core.config import Settings
from tongban.services.core.errors import DomainError
from tongban.services.core.logs import configure_logging
from tongban.services.core.runtime import Runtime, open_runtime
from tongban.services.documents.seal import ensure_seal


def settings() -> Settings:
    """The settings from the environment, with logging configured for them."""
    found = Settings()
    configure_logging(json=True if found.env == "production" else None, level=found.log_level)
    return found


@contextmanager
def runtime(*, init: bool = False) -> Iterator[Runtime]:
    """A runtime for one command, closed when it is done."""
    rt = open_runtime(settings(), init=init)
    try:
        yield rt
    finally:
        rt.close()


def demo_seal(rt: Runtime) -> None:
    """The self-signed demo seal, created when no seal is configured (init, demo)."""
    made = ensure_seal(rt.settings)
    if made is not None:
        typer.echo(f"已生成演示电子印章（自签名证书，非正式用章）：{made}")


def fail(err: DomainError) -> NoReturn:
    typer.secho(f"错误 [{err.code}]：{err.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def now() -> datetime:
    return datetime.now(UTC)


def instant(text: str | None) -> datetime:
    """An ISO 8601 instant with its offset, or now when not given."""
    if text is None:
        return now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"无法识别的时间「{text}」，例如 2026-03-20T17:00+08:00") from None
    if at.tzinfo is None:
        raise typer.BadParameter("时间须带时区，例如 2026-03-20T17:00+08:00")
    return at
