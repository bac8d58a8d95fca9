"""Holds: time after acceptance that the law does not count against the decision limit.

While a hold lasts the case keeps its state (已受理, 原件已寄达) and its decision clock is
paused; the decision itself waits until the hold ends. Three kinds:

- 补正 after acceptance: the home department asks the applicant for more (行政许可法
  第三十二条), and the clock stops until the supplement arrives;
- 中止: handling is suspended for a reason the law gives (with its legal basis) until it
  is resumed;
- 特别程序: 检验、检测、检疫、鉴定、专家评审、听证、公示 (行政许可法 第四十五条) — their time
  is not counted in the decision limit, and each runs with its own expected duration.
"""

from __future__ import annotations

from enum import StrEnum


class Hold(StrEnum):
    SUPPLEMENT = "supplement"
    SUSPENDED = "suspended"
    SPECIAL = "special"


HOLD_LABELS: dict[Hold, str] = {
    Hold.SUPPLEMENT: "受理后补正",
    Hold.SUSPENDED: "中止办理",
    Hold.SPECIAL: "特别程序",
}


class SpecialProcedure(StrEnum):
    INSPECTION = "inspection"
    TESTING = "testing"
    QUARANTINE = "quarantine"
    APPRAISAL = "appraisal"
    EXPERT_REVIEW = "expert_review"
    HEARING = "hearing"
    PUBLICITY = "publicity"


PROCEDURE_LABELS: dict[SpecialProcedure, str] = {
    SpecialProcedure.INSPECTION: "检验",
    SpecialProcedure.TESTING: "检测",
    SpecialProcedure.QUARANTINE: "检疫",
    SpecialProcedure.APPRAISAL: "鉴定",
    SpecialProcedure.EXPERT_REVIEW: "专家评审",
    SpecialProcedure.HEARING: "听证",
    SpecialProcedure.PUBLICITY: "公示",
}

MAX_HOLD_DAYS = 365
