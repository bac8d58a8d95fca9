"""The states of a proxy (收受分离) case and the two sides that work on it, with the words
people read."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"  # 已收件，待形式审查
    SUPPLEMENTING = "supplementing"  # 待补正（计时暂停）
    DECLINED = "declined"  # 不予收件（收件窗口）
    NOT_ACCEPTED = "not_accepted"  # 不予受理（办理地部门）
    FORMALLY_REVIEWED = "formally_reviewed"  # 形式审查通过，待身份核验
    IDENTITY_FAILED = "identity_failed"  # 身份核验未通过
    IDENTITY_VERIFIED = "identity_verified"  # 身份核验通过，待推送
    FORWARDED = "forwarded"  # 已推送至办理地
    RETURNED = "returned"  # 办理地退回收件地
    ACCEPTED = "accepted"  # 办理地已受理
    ORIGINALS_MAILED = "originals_mailed"  # 原件已寄出
    ORIGINALS_RECEIVED = "originals_received"  # 原件已寄达
    APPROVED = "approved"  # 准予（办理、许可…: the guide names it）
    REFUSED = "refused"  # 不予（办理、许可…）
    AT_WINDOW = "at_window"  # 结果已送至收件窗口，待申请人领取
    DELIVERED = "delivered"  # 结果已送达
    COMPLETED = "completed"  # 办结
    WITHDRAWN = "withdrawn"  # 已撤回
    TERMINATED = "terminated"  # 已终止（办理地部门终止办理）


FINAL_STATES: frozenset[State] = frozenset(
    {
        State.DECLINED,
        State.NOT_ACCEPTED,
        State.IDENTITY_FAILED,
        State.COMPLETED,
        State.WITHDRAWN,
        State.TERMINATED,
    }
)

# The two decisions; a case entering one of them records it (cases.decision).
DECISION_STATES: frozenset[State] = frozenset({State.APPROVED, State.REFUSED})

# The states in which the home department decides, once the originals it needs are in hand;
# the time that does not count (workflow.holds) is taken from them.
DECIDING: tuple[State, ...] = (State.ACCEPTED, State.ORIGINALS_RECEIVED)

# Every state before the decision: the applicant may withdraw from any of them.
BEFORE_DECISION: tuple[State, ...] = (
    State.RECEIVED,
    State.SUPPLEMENTING,
    State.FORMALLY_REVIEWED,
    State.IDENTITY_VERIFIED,
    State.FORWARDED,
    State.RETURNED,
    State.ACCEPTED,
    State.ORIGINALS_MAILED,
    State.ORIGINALS_RECEIVED,
)

STATE_LABELS: dict[State, str] = {
    State.RECEIVED: "已收件",
    State.SUPPLEMENTING: "待补正",
    State.DECLINED: "不予收件",
    State.NOT_ACCEPTED: "不予受理",
    State.FORMALLY_REVIEWED: "形式审查通过",
    State.IDENTITY_FAILED: "身份核验未通过",
    State.IDENTITY_VERIFIED: "身份核验通过",
    State.FORWARDED: "已推送",
    State.RETURNED: "已退回",
    State.ACCEPTED: "已受理",
    State.ORIGINALS_MAILED: "原件已寄出",
    State.ORIGINALS_RECEIVED: "原件已寄达",
    State.APPROVED: "准予办理",
    State.REFUSED: "不予办理",
    State.AT_WINDOW: "待领取",
    State.DELIVERED: "已送达",
    State.COMPLETED: "已办结",
    State.WITHDRAWN: "已撤回",
    State.TERMINATED: "已终止",
}


class Side(StrEnum):
    """Which side of a case works on it: the receiving window or the home department."""

    WINDOW = "window"
    HOME = "home"
    EITHER = "either"  # an action either side may take


SIDE_LABELS: dict[Side, str] = {
    Side.WINDOW: "收件窗口",
    Side.HOME: "办理地部门",
    Side.EITHER: "任一方",
}
