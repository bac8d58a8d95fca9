"""Stages: the parts of a case's handling that each have an owner and a time limit.

A stage names *what* is being done (forward, accept, mail, decide, deliver); the time one
case spends in a stage is its deadline (workflow.deadlines, the `deadlines` table).
"""

from __future__ import annotations

from enum import StrEnum

from .states import Side, State


class Stage(StrEnum):
    FORWARD = "forward"  # window: formal review, identity check, push to the home department
    ACCEPT = "accept"  # home: accept or return
    MAIL = "mail"  # window: mail the originals the guide asks to examine
    DECIDE = "decide"  # home: substantive review and decision (承诺时限)
    DELIVER = "deliver"  # home: deliver the result
    # Watched, charged to nobody: the time is the post's or the applicant's.
    TRANSIT = "transit"  # originals on the road, from mailing to arrival
    SUPPLEMENT = "supplement"  # the applicant's 补正期限
    PICKUP = "pickup"  # the result waits at the window for the applicant (待领取)
    SPECIAL = "special"  # a 特别程序's expected days (its own clock; excluded from decide)


STAGE_OWNER: dict[Stage, Side] = {
    Stage.FORWARD: Side.WINDOW,
    Stage.ACCEPT: Side.HOME,
    Stage.MAIL: Side.WINDOW,
    Stage.DECIDE: Side.HOME,
    Stage.DELIVER: Side.HOME,
    # Both sides watch; neither is late when it runs over (workflow.stages.UNCHARGED).
    Stage.TRANSIT: Side.EITHER,
    Stage.SUPPLEMENT: Side.EITHER,
    Stage.PICKUP: Side.EITHER,
    Stage.SPECIAL: Side.EITHER,
}

# Stages whose running over is nobody's 超期: alerts tell the sides, reports leave them out.
UNCHARGED: frozenset[Stage] = frozenset(
    {Stage.TRANSIT, Stage.SUPPLEMENT, Stage.PICKUP, Stage.SPECIAL}
)

STAGE_LABELS: dict[Stage, str] = {
    Stage.FORWARD: "收件推送",
    Stage.ACCEPT: "办理地受理",
    Stage.MAIL: "原件寄递",
    Stage.DECIDE: "审查决定",
    Stage.DELIVER: "结果送达",
    Stage.TRANSIT: "原件在途",
    Stage.SUPPLEMENT: "申请人补正期限",
    Stage.PICKUP: "待领取",
    Stage.SPECIAL: "特别程序",
}

# Working days per stage when the item's guide says nothing (DOMAIN.md: forward within 1,
# accept within 2, deliver within 1; mailing the originals within 1). DECIDE has no
# default: it is the item's promised time (承诺时限) and must come from the guide; a new
# guide starts from DEFAULT_PROMISED_DAYS.
DEFAULT_LIMIT_DAYS: dict[Stage, int] = {
    Stage.FORWARD: 1,
    Stage.ACCEPT: 2,
    Stage.MAIL: 1,
    Stage.DELIVER: 1,
    Stage.TRANSIT: 3,
    Stage.SUPPLEMENT: 10,
    Stage.PICKUP: 10,  # after which the window is reminded to call the applicant
    Stage.SPECIAL: 30,  # unused: each 特别程序 states its expected days
}
DEFAULT_PROMISED_DAYS = 20

_STAGE_OF_STATE: dict[State, Stage] = {
    State.RECEIVED: Stage.FORWARD,
    # Supplementing keeps the forward deadline, paused (补正期间不计时).
    State.SUPPLEMENTING: Stage.FORWARD,
    State.FORMALLY_REVIEWED: Stage.FORWARD,
    State.IDENTITY_VERIFIED: Stage.FORWARD,
    State.RETURNED: Stage.FORWARD,
    State.FORWARDED: Stage.ACCEPT,
    State.ORIGINALS_MAILED: Stage.TRANSIT,
    State.ORIGINALS_RECEIVED: Stage.DECIDE,
    State.APPROVED: Stage.DELIVER,
    State.REFUSED: Stage.DELIVER,
    # The department's delivery ends when it sends the result to the window; the waiting
    # is the applicant's.
    State.AT_WINDOW: Stage.PICKUP,
}


def stage_of(state: State, originals_required: bool) -> Stage | None:
    """The stage running in `state`; None while none runs (decided and delivered, done).
    The applicant's 补正期限 runs beside a paused stage and is no state's."""
    if state is State.ACCEPTED:
        # With originals to examine, the window mails them first and the decision starts
        # when they arrive; otherwise the decision starts at acceptance.
        return Stage.MAIL if originals_required else Stage.DECIDE
    return _STAGE_OF_STATE.get(state)
