"""Acting on a case: every action in the table goes through `act(uow, command)`.

Load the case (locked), check the actor's scope and the version they saw, let the workflow
machine decide, then write the case, its deadlines and the audit event in the same
transaction, and commit. A refused action writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select

from tongban.models import Department, DepartmentItem
from tongban.workflow.actions import Action, action_of
from tongban.workflow.calendar import period_due
from tongban.workflow.commands import (
    CaseCommand,
    StartSpecialProcedure,
    audit_payload,
    reasons_of,
)
from tongban.workflow.deadlines import DeadlineOp
from tongban.workflow.guide import GuideConfig
from tongban.workflow.holds import Hold
from tongban.workflow.machine import Outcome, Refused, fire
from tongban.workflow.states import State

from ..audit.chain import next_link
from ..calendar.store import calendar_for
from ..core.errors import CaseNotFound, DomainError, InvalidInput, StaleVersion, TransitionError
from ..core.uow import STALE_MESSAGE, UnitOfWork
from ..deadlines.ops import NewDeadline, moved, starting
from ..guides.store import config_of
from ..users.actors import Actor
from ..users.scope import out_of_scope, side_for
from .store import CaseMove, CaseStore, OpenDeadline, StoredCase
from .views import CaseView

log = structlog.get_logger("tongban.cases")


def not_found(case_no: str) -> CaseNotFound:
    return out_of_scope(case_no)


def refusal_error(err: Refused) -> DomainError:
    """An input the person must correct (422, naming the field), or a conflict with the
    case as it stands (409)."""
    if err.field is not None:
        return InvalidInput(str(err), code=err.code, field=err.field)
    return TransitionError(str(err), code=err.code)


def act(uow: UnitOfWork, command: CaseCommand, *, actor: Actor, now: datetime) -> CaseView:
    """Take the action `command` stands for, as `actor`, at `now`."""
    action = action_of(command)
    with uow.batching():
        store = CaseStore(uow)
        case = store.load(command.case_no, materials=action.reads_materials)
        if case is None:
            raise not_found(command.case_no)
        side = side_for(actor, case, action.side, action.label)
        _check_version(command, case)
        guide = config_of(uow, case.guide_version_id or 0)
        try:
            outcome = fire(case.facts(guide, now), command, side)
        except Refused as err:
            log.info(
                "case.refused",
                case_no=case.case_no,
                user=actor.username,
                action=action.name,
                code=err.code,
            )
            raise refusal_error(err) from None
        handler = _taking_over(uow, outcome.action, command, case)
        view = _write(uow, store, case, command, outcome, actor, guide, now, handler)
        uow.commit()
    log.info(
        "case.action",
        case_no=case.case_no,
        user=actor.username,
        action=action.name,
        from_state=outcome.source.value,
        to_state=outcome.target.value,
    )
    return view


def _taking_over(
    uow: UnitOfWork, action: Action, command: CaseCommand, case: StoredCase
) -> int | None:
    """The department an action hands the case over to (转办), checked; None otherwise."""
    if action.hands_over is None:
        return None
    code = action.hands_over(command)
    found = uow.session.scalar(select(Department.id).where(Department.code == code))
    if found is None:
        raise InvalidInput(
            f"转至部门：办理地部门「{code}」不存在，请核对部门编码。", field="department_code"
        )
    if found == case.department_id:
        raise InvalidInput(
            "转至部门：本件已在本部门，转办须转至另一有管辖权的部门。", field="department_code"
        )
    handles = uow.session.scalar(
        select(DepartmentItem.item_id).where(
            DepartmentItem.department_id == found, DepartmentItem.item_id == case.item_id
        )
    )
    if handles is None:
        raise InvalidInput(
            f"转至部门：「{code}」不办理本事项，只能转至办理本事项的部门。",
            code="routing.not_handled",
            field="department_code",
        )
    return int(found)


def _check_version(command: CaseCommand, case: StoredCase) -> None:
    seen = command.expected_version
    if seen is not None and seen != case.version:
        raise StaleVersion(
            f"办件「{case.case_no}」在您打开之后已被办理或更新。请刷新页面，看清当前状态后再操作。",
            current_version=case.version,
        )


def _write(
    uow: UnitOfWork,
    store: CaseStore,
    case: StoredCase,
    command: CaseCommand,
    outcome: Outcome,
    actor: Actor,
    guide: GuideConfig,
    now: datetime,
    handler: int | None,
) -> CaseView:
    link = next_link(
        uow.rt.key,
        case.case_no,
        seq=case.audit_seq + 1,
        prev_mac=case.audit_head,
        actor=actor,
        action=outcome.action.name,
        at=now,
        from_state=outcome.source.value,
        to_state=outcome.target.value,
        reasons=reasons_of(command),
        payload={**audit_payload(command), **outcome.recorded},
    )
    move = CaseMove(
        state=outcome.target,
        now=now,
        seq=link.seq,
        mac=link.mac,
        originals_required=outcome.originals_required,
        closed_at=now if outcome.closes else None,
        decision=outcome.decision,
        arrived_at=now if outcome.originals_arrive else None,
        forwarded_at=now if outcome.target is State.FORWARDED else None,
        department_id=handler,
        returned_at=now if outcome.originals_returned else None,
        **_hold_columns(uow, case, command, outcome, guide, now),
    )
    moved, new = _deadlines(uow, case, outcome.deadlines, guide, now, handler, command)
    if not store.save(case, move, link.columns(), moved, new, outcome.handed_in):
        raise StaleVersion(STALE_MESSAGE)
    return CaseView.of(case.case_no, outcome.target, case.version + 1, move)


def _hold_columns(
    uow: UnitOfWork,
    case: StoredCase,
    command: CaseCommand,
    outcome: Outcome,
    guide: GuideConfig,
    now: datetime,
) -> dict[str, Any]:
    """The case's hold after the action: a new one from `now`, expected to end after the
    special procedure's days or the applicant's 补正期限; none once it ends; else as it was."""
    if outcome.hold is None:
        return {"hold": None, "hold_since": None, "hold_until": None}
    if outcome.action.starts_hold is None:
        return {"hold": case.hold, "hold_since": case.hold_since, "hold_until": case.hold_until}
    days = (
        command.expected_days
        if isinstance(command, StartSpecialProcedure)
        else guide.supplement_days
        if outcome.hold is Hold.SUPPLEMENT
        else 0
    )
    until = period_due(calendar_for(uow), now, days).instant if days else None
    return {"hold": outcome.hold, "hold_since": now, "hold_until": until}


def _deadlines(
    uow: UnitOfWork,
    case: StoredCase,
    ops: Sequence[DeadlineOp],
    guide: GuideConfig,
    now: datetime,
    handler: int | None = None,
    command: CaseCommand | None = None,
) -> tuple[list[OpenDeadline], list[NewDeadline]]:
    """The deadline rows an action moves and opens."""
    if not ops:
        return [], []
    cal = calendar_for(uow)
    share = uow.rt.warning_share
    current = {d.timing.stage: d for d in case.deadlines}
    changed: list[OpenDeadline] = []
    new: list[NewDeadline] = []
    for op in ops:
        if op.kind == "open":
            new.append(
                starting(
                    op.stage,
                    office_id=case.office_id,
                    department_id=handler or case.department_id,
                    limit_days=(
                        command.expected_days  # a 特别程序 states its own
                        if isinstance(command, StartSpecialProcedure)
                        else guide.limit_days(op.stage)
                    ),
                    cal=cal,
                    now=now,
                    share=share,
                )
            )
            continue
        found = current.get(op.stage)
        if found is not None:  # else a stage opened before deadlines were tracked
            changed.append(OpenDeadline(found.id, moved(found.timing, op.kind, cal, now, share)))
    return changed, new
