"""What a person hands in with each action: one frozen dataclass per action (the command),
and the application a window registers at receipt.

Commands carry data only. The action table (workflow.actions) names, for each command
class, the states it moves between, the side that takes it and the guards that may refuse
it. Field metadata gives each input its Chinese label and its bounds, so every form and
every API body is built from here and names fields the way people read them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any

from .delivery import DeliveryMethod
from .holds import MAX_HOLD_DAYS, SpecialProcedure
from .identity import ApplicantKind, DocumentType, mask
from .parties import AgentRole, Present

# Bounds on what a person may type; the API and the forms enforce them before a command
# exists, and the commands keep them in one place.
REASON_CHARS = 500
MAX_REASONS = 20
MAX_NOTICE_ITEMS = 50
MAX_MATERIALS = 50


def _about(label: str, **bounds: int) -> dict[str, Any]:
    """A field's metadata: its Chinese label and bounds (max_length, max_items, ...)."""
    return {"label": label, **bounds}


_REASONS = _about("理由", max_length=REASON_CHARS, max_items=MAX_REASONS)


@dataclass(frozen=True)
class MaterialIn:
    """A material handed in, by its code in the item's operating guide."""

    code: str = field(metadata=_about("材料编码", min_length=1, max_length=64))
    copies: int = field(default=1, metadata=_about("份数", ge=1, le=99))
    e_licence_verified: bool = field(default=False, metadata=_about("已通过电子证照核验"))
    licence_no: str = field(default="", metadata=_about("电子证照编号", max_length=64))


@dataclass(frozen=True)
class AgentIn:
    """The person who appears for the applicant: 代办人, a company's 经办人, or 监护人."""

    role: AgentRole = field(metadata=_about("代理人类别"))
    name: str = field(metadata=_about("代理人姓名", min_length=1, max_length=100))
    document_type: DocumentType = field(metadata=_about("代理人证件类型"))
    document_number: str = field(
        metadata=_about("代理人证件号码", min_length=1, max_length=24, personal=True)
    )
    phone: str = field(default="", metadata=_about("代理人联系电话", max_length=32))
    relationship: str = field(default="", metadata=_about("与申请人关系", max_length=50))


@dataclass(frozen=True, kw_only=True)
class CaseCommand:
    """An action on one case. `expected_version` is the version the person saw; a case
    changed since then is refused (case.stale_version) rather than acted on blindly."""

    case_no: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class WithReasons(CaseCommand):
    reasons: tuple[str, ...] = field(metadata=_REASONS)


@dataclass(frozen=True, kw_only=True)
class WithOptionalReasons(CaseCommand):
    reasons: tuple[str, ...] = field(default=(), metadata=_REASONS)


# --- window side ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PassFormalReview(CaseCommand):
    """形式审查通过."""


@dataclass(frozen=True, kw_only=True)
class RequestSupplement(CaseCommand):
    """一次性告知补正."""

    notice_items: tuple[str, ...] = field(
        metadata=_about("告知补正事项", max_length=REASON_CHARS, max_items=MAX_NOTICE_ITEMS)
    )


@dataclass(frozen=True, kw_only=True)
class Supplement(CaseCommand):
    """补正材料."""

    materials: tuple[MaterialIn, ...] = field(metadata=_about("材料", max_items=MAX_MATERIALS))


@dataclass(frozen=True, kw_only=True)
class Decline(WithReasons):
    """不予收件: the window declines to receive (the item is not handled here, the applicant
    will not supplement...). Acceptance itself is the home department's to refuse."""


@dataclass(frozen=True, kw_only=True)
class VerifyIdentity(CaseCommand):
    """身份核验通过: the person present shows the document registered for them."""

    person: Present = field(default=Present.APPLICANT, metadata=_about("核验对象"))
    # Unset: the type registered for that person at receipt.
    document_type: DocumentType | None = field(default=None, metadata=_about("证件类型"))
    document_number: str = field(
        metadata=_about("证件号码", min_length=1, max_length=24, personal=True)
    )


@dataclass(frozen=True, kw_only=True)
class FailIdentity(WithReasons):
    """身份核验不通过."""


@dataclass(frozen=True, kw_only=True)
class Forward(CaseCommand):
    """在线推送: the case and its scans go to the home department. Required materials the
    guide allows on paper may go without a scan when listed here (recorded as such)."""

    paper_only: tuple[str, ...] = field(
        default=(), metadata=_about("仅交纸质件的材料", max_length=64, max_items=MAX_MATERIALS)
    )


@dataclass(frozen=True, kw_only=True)
class MailOriginals(CaseCommand):
    """寄递原件."""

    carrier: str = field(metadata=_about("寄递企业", max_length=100))
    tracking_no: str = field(metadata=_about("运单号", max_length=64))


# --- home side -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Accept(CaseCommand):
    """受理."""


@dataclass(frozen=True, kw_only=True)
class ReturningOriginals(CaseCommand):
    """An ending that sends back the originals the department holds, when it holds any."""

    return_carrier: str = field(default="", metadata=_about("原件退还寄递企业", max_length=100))
    return_tracking_no: str = field(default="", metadata=_about("原件退还运单号", max_length=64))


@dataclass(frozen=True, kw_only=True)
class WithLegalBasis(WithReasons):
    """An act the law lets a department take only on a stated legal basis."""

    legal_basis: str = field(metadata=_about("法律依据", max_length=REASON_CHARS))


@dataclass(frozen=True, kw_only=True)
class NotAccept(WithLegalBasis):
    """不予受理, by the competent department (行政许可法 第三十二条), with its legal basis
    and the applicant's remedies."""

    review_body: str = field(default="", metadata=_about("行政复议机关", max_length=100))
    court: str = field(default="", metadata=_about("行政诉讼管辖法院", max_length=100))


@dataclass(frozen=True, kw_only=True)
class Transfer(WithReasons):
    """转办: a home department that is not competent passes the case to the one that is."""

    department_code: str = field(metadata=_about("转至部门", min_length=1, max_length=32))


@dataclass(frozen=True, kw_only=True)
class ReturnToWindow(WithReasons):
    """退回补正: back to the receiving window, to have the applicant supplement."""


@dataclass(frozen=True, kw_only=True)
class ReceiveOriginals(CaseCommand):
    """确认原件寄达."""


@dataclass(frozen=True, kw_only=True)
class Approve(WithOptionalReasons):
    """准予."""


@dataclass(frozen=True, kw_only=True)
class Refuse(WithReasons):
    """不予许可."""


# --- home side: time that does not count (workflow.holds) -----------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestHomeSupplement(CaseCommand):
    """受理后告知补正: the department asks the applicant for more; the clock stops."""

    notice_items: tuple[str, ...] = field(
        metadata=_about("告知补正事项", max_length=REASON_CHARS, max_items=MAX_NOTICE_ITEMS)
    )


@dataclass(frozen=True, kw_only=True)
class ReceiveHomeSupplement(WithOptionalReasons):
    """收到补正材料: the clock runs again from the next day."""


@dataclass(frozen=True, kw_only=True)
class Suspend(WithLegalBasis):
    """中止办理, with the reason and the legal basis."""


@dataclass(frozen=True, kw_only=True)
class Resume(WithOptionalReasons):
    """恢复办理."""


@dataclass(frozen=True, kw_only=True)
class StartSpecialProcedure(WithReasons):
    """启动特别程序 (检验、检测、检疫、鉴定、专家评审、听证、公示) with its expected duration."""

    procedure: SpecialProcedure = field(metadata=_about("特别程序"))
    expected_days: int = field(metadata=_about("预计工作日数", ge=1, le=MAX_HOLD_DAYS))


@dataclass(frozen=True, kw_only=True)
class EndSpecialProcedure(WithOptionalReasons):
    """特别程序结束, with its result."""


@dataclass(frozen=True, kw_only=True)
class Terminate(WithLegalBasis, ReturningOriginals):
    """终止办理: the department ends the case without a decision, with reasons and basis."""


# --- either side ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Deliver(CaseCommand):
    """结果送达."""

    method: DeliveryMethod = field(metadata=_about("送达方式"))
    carrier: str = field(default="", metadata=_about("寄递企业", max_length=100))
    tracking_no: str = field(default="", metadata=_about("运单号", max_length=64))


@dataclass(frozen=True, kw_only=True)
class SendToWindow(CaseCommand):
    """结果送至窗口: the department sends the result for pickup at the receiving window."""

    carrier: str = field(default="", metadata=_about("寄递企业", max_length=100))
    tracking_no: str = field(default="", metadata=_about("运单号", max_length=64))


@dataclass(frozen=True, kw_only=True)
class Complete(CaseCommand):
    """办结."""


@dataclass(frozen=True, kw_only=True)
class ReturnOriginals(CaseCommand):
    """原件退还: the originals the department examined go back to the applicant."""

    carrier: str = field(metadata=_about("寄递企业", max_length=100))
    tracking_no: str = field(metadata=_about("运单号", max_length=64))


@dataclass(frozen=True, kw_only=True)
class Withdraw(ReturningOriginals):
    """撤回, at the applicant's request."""

    reasons: tuple[str, ...] = field(default=("申请人申请撤回",), metadata=_REASONS)


@dataclass(frozen=True, kw_only=True)
class DeemWithdrawn(CaseCommand):
    """视为撤回: the 补正期限 ran out without a supplement."""

    reasons: tuple[str, ...] = field(default=("申请人逾期未补正，视为撤回申请",), metadata=_REASONS)


# --- receipt -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Application:
    """What the window clerk registers at receipt (收件)."""

    item_code: str = field(metadata=_about("事项编码", min_length=1, max_length=16))
    department_code: str = field(metadata=_about("办理地部门", min_length=1, max_length=32))
    applicant_kind: ApplicantKind = field(metadata=_about("申请人类型"))
    applicant_name: str = field(metadata=_about("申请人", min_length=1, max_length=200))
    applicant_id_number: str = field(
        metadata=_about("申请人证件号码", min_length=1, max_length=24, personal=True)
    )
    # Unset: 居民身份证 for a person, 统一社会信用代码 for a company.
    applicant_document_type: DocumentType | None = field(
        default=None, metadata=_about("申请人证件类型")
    )
    legal_representative: str = field(default="", metadata=_about("法定代表人", max_length=100))
    agent: AgentIn | None = field(default=None, metadata=_about("代理人"))
    # The clerk's confirmation to receive under a guide still at its default template.
    confirm_default_guide: bool = field(default=False, metadata=_about("确认按默认指南收件"))
    delivery_preference: DeliveryMethod = field(metadata=_about("结果送达方式"))
    materials: tuple[MaterialIn, ...] = field(
        default=(), metadata=_about("材料", max_items=MAX_MATERIALS)
    )
    contact_phone: str = field(default="", metadata=_about("联系电话", max_length=32))
    delivery_address: str = field(default="", metadata=_about("送达地址", max_length=500))


# Fields every case command has; the audit event records them elsewhere (the case number
# and version on the case, the reasons in their own column).
_NOT_PAYLOAD = frozenset({"case_no", "expected_version", "reasons"})


def _recorded(value: Any) -> Any:
    if isinstance(value, MaterialIn):
        return value.code
    if isinstance(value, AgentIn):
        return {
            "role": value.role.value,
            "name": value.name,
            "document": mask(value.document_number),
        }
    if isinstance(value, str):
        return value.strip()  # a StrEnum (delivery method) records its value
    if isinstance(value, tuple | list):
        return [v for v in (_recorded(item) for item in value) if v != ""]
    return value


def audit_payload(command: CaseCommand) -> dict[str, Any]:
    """What the audit event records of a command's input: every field it has beyond the
    common ones, trimmed, with empty ones left out and personal numbers masked."""
    out: dict[str, Any] = {}
    for f in fields(command):
        if f.name in _NOT_PAYLOAD:
            continue
        value = _recorded(getattr(command, f.name))
        if value in ("", [], None):
            continue
        out[f.name] = mask(value) if f.metadata.get("personal") else value
    return out


def has_text(value: str) -> bool:
    """Whether `value` shows anything: not only spaces (of any width) and invisible format
    characters (zero-width space and joiners, byte-order mark, direction marks)."""
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in value)


# Bidirectional controls: they reorder what is displayed (a name that reads one way and is
# stored another), so no name may carry them.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def name_problem(value: str) -> str | None:
    """What is wrong with a person's or a company's name, or None."""
    if any(c in BIDI_CONTROLS for c in value):
        return "含有文字方向控制字符（会让显示的文字与实际不同），请删除后重新输入。"
    if not has_text(value):
        return "请填写姓名或名称（不能只有空格或不可见字符）。"
    return None


def names_given(app: Application) -> list[tuple[str, str, str]]:
    """The names an application carries, as (field, Chinese label, value)."""
    out = [("applicant_name", "申请人", app.applicant_name)]
    if app.legal_representative:
        out.append(("legal_representative", "法定代表人", app.legal_representative))
    if app.agent is not None:
        out.append(("agent.name", "代理人姓名", app.agent.name))
    return out


def reasons_of(command: CaseCommand) -> tuple[str, ...]:
    """The reasons a command gives, trimmed; those showing nothing dropped."""
    given: tuple[str, ...] = getattr(command, "reasons", ())
    return tuple(r.strip() for r in given if has_text(r))


def field_labels() -> dict[str, str]:
    """Every input field's Chinese label, by field name (one name, one label, everywhere)."""
    labels: dict[str, str] = {}
    for cls in (MaterialIn, Application, *_all_commands(CaseCommand), AgentIn):
        for f in fields(cls):
            if "label" in f.metadata:
                labels.setdefault(f.name, str(f.metadata["label"]))
    return labels


def _all_commands(base: type[CaseCommand]) -> list[type[CaseCommand]]:
    found: list[type[CaseCommand]] = []
    for sub in base.__subclasses__():
        found += [sub, *_all_commands(sub)]
    return found
