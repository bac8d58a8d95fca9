"""Readable case numbers, unique across app instances: <office code>-<yyyymmdd>-<seq>."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tongban.models import CaseCounter, Office
from tongban.workflow.calendar import SHANGHAI


def next_case_no(session: Session, office: Office, now: datetime) -> str:
    """Take the next number for the office's local day.

    One atomic upsert on the counter row: concurrent instances serialise on that row, so
    two windows never print the same number, and a rolled-back receipt gives its number
    back instead of leaving a hole.
    """
    day = now.astimezone(SHANGHAI).date()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(CaseCounter)
        .values(office_id=office.id, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[CaseCounter.office_id, CaseCounter.day],
            set_={"last": CaseCounter.last + 1},
        )
        .returning(CaseCounter.last)
    )
    seq = session.execute(stmt).scalar_one()
    return f"{office.code}-{day:%Y%m%d}-{seq:04d}"
