"""How an item is handled across places (办理模式), and so how a case was handled."""

from __future__ import annotations

from enum import StrEnum


class CaseMode(StrEnum):
    PROXY = "proxy"  # 异地代收代办 (收受分离): received here, handled there
    JOINT = "joint"  # 多地联办
    ONLINE = "online"  # 全程网办
    ON_SITE = "on_site"  # 就地办理: in person where it is done, on the spot (婚姻登记, 直接结算)


MODE_LABELS: dict[CaseMode, str] = {
    CaseMode.PROXY: "异地代收代办",
    CaseMode.JOINT: "多地联办",
    CaseMode.ONLINE: "全程网办",
    CaseMode.ON_SITE: "就地办理（本人到场、当场办结）",
}
