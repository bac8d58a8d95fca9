"""Whether this city can receive an item now (本地承接状态), from the catalog row.

- 本市不承接: the rows of 附件1 printed without a lead unit (1-21, 1-22, 1-23 apply only to
  provincial capitals and separately-planned cities; 1-49 has no city counterpart).
- 未上线: before the item's batch is due (批次完成时限): batch 1 by the end of February
  2021, batch 2 by the end of 2021, batch 3 by the date its row prints; a row that
  prints no date ("条件成熟时…") is not online until one is set.
- 可受理 otherwise.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum


class Availability(StrEnum):
    RECEIVABLE = "receivable"
    NOT_HERE = "not_here"
    NOT_YET = "not_yet"


AVAILABILITY_LABELS: dict[Availability, str] = {
    Availability.RECEIVABLE: "可受理",
    Availability.NOT_HERE: "本市不承接",
    Availability.NOT_YET: "未上线",
}

_BATCH_ONLINE = {1: date(2021, 3, 1), 2: date(2022, 1, 1)}
# "2022年6月底前", "2022年底前", "力争2025年底前…", "2021年在长三角等地区开展…试点".
_MONTH_END = re.compile(r"(\d{4})年(\d{1,2})月底")
_YEAR = re.compile(r"(\d{4})年")


def online_from(batch: int, deadline_text: str | None) -> date | None:
    """The first day an item of `batch` is online; None when its row prints no date."""
    if batch in _BATCH_ONLINE:
        return _BATCH_ONLINE[batch]
    text = deadline_text or ""
    ends = [_after_month(int(y), int(m)) for y, m in _MONTH_END.findall(text)]
    ends += [date(int(y) + 1, 1, 1) for y in _YEAR.findall(_MONTH_END.sub("", text))]
    # The last date the text names is the one by which it is done ("…力争2025年底前").
    return max(ends) if ends else None


def _after_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def availability(
    batch: int, lead_missing: bool, deadline_text: str | None, today: date
) -> Availability:
    if lead_missing:
        return Availability.NOT_HERE
    start = online_from(batch, deadline_text)
    if start is None or today < start:
        return Availability.NOT_YET
    return Availability.RECEIVABLE
