"""Whether the city receives an item now: 本市不承接, 未上线, 可受理 (附件1's columns)."""

from __future__ import annotations

from datetime import date

import pytest

from tongban.workflow.availability import Availability, availability, online_from


@pytest.mark.parametrize(
    ("batch", "text", "online"),
    [
        (1, None, date(2021, 3, 1)),  # 第一批: 2021年2月底前
        (2, None, date(2022, 1, 1)),  # 第二批: 2021年底前
        (3, "2022年6月底前", date(2022, 7, 1)),
        (3, "2022年12月底前", date(2023, 1, 1)),
        (3, "2022年底前", date(2023, 1, 1)),
        (3, "2021年在长三角等地区开展“跨省通办”试点，在总结试点经验基础上逐步推开",
         date(2022, 1, 1)),
        (
            3,
            "2020年至2022年10月进行“省内通办”试点，2022年10月至2024年底进行“跨省通办”试点，"
            "力争2025年底前在县级以上婚姻登记机关全面实行全国“跨省通办”",
            date(2026, 1, 1),
        ),
        (3, "在开展结婚登记“跨省通办”试点基础上，条件成熟时实施离婚登记“跨省通办”试点", None),
    ],
)  # fmt: skip
def test_each_batch_goes_online_after_its_deadline(
    batch: int, text: str | None, online: date | None
) -> None:
    assert online_from(batch, text) == online


def test_status_from_the_catalog_row() -> None:
    assert availability(1, True, None, date(2026, 1, 1)) is Availability.NOT_HERE
    assert availability(2, False, None, date(2021, 12, 31)) is Availability.NOT_YET
    assert availability(2, False, None, date(2022, 1, 1)) is Availability.RECEIVABLE
    assert availability(3, False, "条件成熟时", date(2030, 1, 1)) is Availability.NOT_YET
