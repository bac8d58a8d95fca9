"""The states and actions of a proxy (收受分离) case, with the words people read."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"  # 已收件，待形式审查
    SUPPLEMENTING = "supplementing"  # 待补正（计时暂停）
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    FORMALLY_REVIEWED = "formally_reviewed"  # 形式审查通过，待身份核验
    IDENTITY_FAILED = "identity_failed"  # 身份核验未通过
    IDENTITY_VERIFIED = "identity_verified"  # 身份核验通过，待推送
    FORWARDED = "forwarded"  # 已推送至办理地
    RETURNED = "returned"  # 办理地退回收件地
    ACCEPTED = "accepted"  # 办理地已受理
    ORIGINALS_MAILED = "originals_mailed"  # 原件已寄出
    ORIGINALS_RECEIVED = "originals_received"  # 原件已寄达
    APPROVED = "approved"  # 准予
    REFUSED = "refused"  # 不予许可
    DELIVERED = "delivered"  # 结果已送达
    COMPLETED = "completed"  # 办结
    WITHDRAWN = "withdrawn"  # 已撤回


class Action(StrEnum):
    PASS_FORMAL_REVIEW = "pass_formal_review"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    NOT_ACCEPT = "not_accept"
    VERIFY_IDENTITY = "verify_identity"
    FAIL_IDENTITY = "fail_identity"
    FORWARD = "forward"
    ACCEPT = "accept"
    RETURN = "return_to_window"
    MAIL_ORIGINALS = "mail_originals"
    RECEIVE_ORIGINALS = "receive_originals"
    APPROVE = "approve"
    REFUSE = "refuse"
    DELIVER = "deliver"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"


class Side(StrEnum):
    """Which side of the case may take an action: the receiving window or the home department."""

    WINDOW = "window"
    HOME = "home"
    EITHER = "either"


FINAL_STATES: frozenset[State] = frozenset(
    {
        State.NOT_ACCEPTED,
        State.IDENTITY_FAILED,
        State.COMPLETED,
        State.WITHDRAWN,
    }
)

STATE_LABELS: dict[State, str] = {
    State.RECEIVED: "已收件",
    State.SUPPLEMENTING: "待补正",
    State.NOT_ACCEPTED: "不予受理",
    State.FORMALLY_REVIEWED: "形式审查通过",
    State.IDENTITY_FAILED: "身份核验未通过",
    State.IDENTITY_VERIFIED: "身份核验通过",
    State.FORWARDED: "已推送",
    State.RETURNED: "已退回",
    State.ACCEPTED: "已受理",
    State.ORIGINALS_MAILED: "原件已寄出",
    State.ORIGINALS_RECEIVED: "原件已寄达",
    State.APPROVED: "准予",
    State.REFUSED: "不予许可",
    State.DELIVERED: "已送达",
    State.COMPLETED: "已办结",
    State.WITHDRAWN: "已撤回",
}

ACTION_LABELS: dict[Action, str] = {
    Action.PASS_FORMAL_REVIEW: "形式审查通过",
    Action.REQUEST_SUPPLEMENT: "一次性告知补正",
    Action.SUPPLEMENT: "补正材料",
    Action.NOT_ACCEPT: "不予受理",
    Action.VERIFY_IDENTITY: "身份核验通过",
    Action.FAIL_IDENTITY: "身份核验不通过",
    Action.FORWARD: "在线推送",
    Action.ACCEPT: "受理",
    Action.RETURN: "退回收件地",
    Action.MAIL_ORIGINALS: "寄递原件",
    Action.RECEIVE_ORIGINALS: "确认原件寄达",
    Action.APPROVE: "准予",
    Action.REFUSE: "不予许可",
    Action.DELIVER: "结果送达",
    Action.COMPLETE: "办结",
    Action.WITHDRAW: "撤回",
}

# Who may take each action. A clerk works the window side of its own office's cases,
# a reviewer the home side of the cases sent to its department.
ACTION_SIDE: dict[Action, Side] = {
    Action.PASS_FORMAL_REVIEW: Side.WINDOW,
    Action.REQUEST_SUPPLEMENT: Side.WINDOW,
    Action.SUPPLEMENT: Side.WINDOW,
    Action.NOT_ACCEPT: Side.WINDOW,
    Action.VERIFY_IDENTITY: Side.WINDOW,
    Action.FAIL_IDENTITY: Side.WINDOW,
    Action.FORWARD: Side.WINDOW,
    Action.ACCEPT: Side.HOME,
    Action.RETURN: Side.HOME,
    Action.MAIL_ORIGINALS: Side.WINDOW,
    Action.RECEIVE_ORIGINALS: Side.HOME,
    Action.APPROVE: Side.HOME,
    Action.REFUSE: Side.HOME,
    # Mail and electronic delivery are the home side's; window pickup is the window's.
    # The delivery guard checks the method against the side.
    Action.DELIVER: Side.EITHER,
    Action.COMPLETE: Side.EITHER,
    # The applicant may withdraw at either place.
    Action.WITHDRAW: Side.EITHER,
}


class DeliveryMethod(StrEnum):
    MAIL = "mail"  # 寄递纸质结果
    ELECTRONIC = "electronic"  # 网络送达
    WINDOW = "window"  # 窗口领取


DELIVERY_LABELS: dict[DeliveryMethod, str] = {
    DeliveryMethod.MAIL: "寄递纸质结果",
    DeliveryMethod.ELECTRONIC: "网络送达",
    DeliveryMethod.WINDOW: "收件窗口领取",
}
