"""How a result reaches the applicant (结果送达), and which side hands it over."""

from __future__ import annotations

from enum import StrEnum

from .states import Side


class DeliveryMethod(StrEnum):
    MAIL = "mail"  # 寄递纸质结果
    ELECTRONIC = "electronic"  # 网络送达
    WINDOW = "window"  # 窗口领取


DELIVERY_LABELS: dict[DeliveryMethod, str] = {
    DeliveryMethod.MAIL: "寄递纸质结果",
    DeliveryMethod.ELECTRONIC: "网络送达",
    DeliveryMethod.WINDOW: "收件窗口领取",
}

# Mail and electronic delivery are the home department's; pickup is at the receiving window.
DELIVERY_SIDE: dict[DeliveryMethod, Side] = {
    DeliveryMethod.MAIL: Side.HOME,
    DeliveryMethod.ELECTRONIC: Side.HOME,
    DeliveryMethod.WINDOW: Side.WINDOW,
}


def methods_for(side: Side) -> tuple[DeliveryMethod, ...]:
    """The delivery methods `side` may use, in DeliveryMethod order."""
    return tuple(m for m in DeliveryMethod if DELIVERY_SIDE[m] is side)
