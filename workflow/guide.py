"""What an item's operating guide configures: materials, originals to examine, time limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .commands import MaterialIn
from .delivery import DeliveryMethod
from .stages import DEFAULT_LIMIT_DAYS, Stage

GENERAL_DECISION = ("准予办理", "不予办理")
LICENCE_DECISION = ("准予许可", "不予许可")  # items that are 行政许可
DECISION_KINDS = {"general": GENERAL_DECISION, "licence": LICENCE_DECISION}


def decision_labels(value: Any) -> tuple[str, str]:
    """From the front matter's `decision`: "general" (default), "licence", or a mapping
    with the item's own words, e.g. {approve: 出具公证书, refuse: 不予办理公证}."""
    if value is None:
        return GENERAL_DECISION
    if isinstance(value, str):
        return DECISION_KINDS[value]
    return (str(value["approve"]), str(value["refuse"]))


@dataclass(frozen=True)
class MaterialSpec:
    code: str
    name: str
    required: bool = True
    original: bool = False  # the home department must examine the original
    copies: int = 1
    e_licence: bool = False  # an electronic licence can stand in for the original
    # Needed only when someone appears for the applicant (授权委托书, 监护关系证明).
    agent: bool = False
    # The guide allows it to travel on paper only, with no scan (纸质件): a forward may
    # then go without its file, recorded as such. An original the home department examines
    # travels by mail anyway, so the same holds for `original` materials.
    paper: bool = False

    @property
    def paper_allowed(self) -> bool:
        return self.paper or self.original


@dataclass(frozen=True)
class GuideConfig:
    item: str
    version: int
    status: str
    materials: tuple[MaterialSpec, ...]
    limits: Mapping[Stage, int]  # working days per stage
    results: tuple[DeliveryMethod, ...]
    modes: tuple[str, ...] = ("proxy",)
    # What the decision is called: 准予办理 / 不予办理 unless the guide says otherwise.
    decision_labels: tuple[str, str] = GENERAL_DECISION

    def decision_label(self, approve: bool) -> str:
        return self.decision_labels[0 if approve else 1]

    def material(self, code: str) -> MaterialSpec | None:
        return next((m for m in self.materials if m.code == code), None)

    def limit_days(self, stage: Stage) -> int:
        return self.limits[stage]

    @property
    def supplement_days(self) -> int:
        """Working days the applicant has to supplement (补正期限), stated in the notice."""
        return self.limits[Stage.SUPPLEMENT]


def parse_config(front: Mapping[str, Any]) -> GuideConfig:
    """Build the config from a guide's front matter (already schema-checked by the loader)."""
    limits_in: Mapping[str, Any] = front.get("time_limits") or {}
    limits = {
        stage: int(limits_in.get(stage.value, DEFAULT_LIMIT_DAYS.get(stage, 0))) for stage in Stage
    }
    if limits[Stage.DECIDE] <= 0:
        raise ValueError("time_limits.decide（承诺时限）须为正整数")
    materials = tuple(
        MaterialSpec(
            code=str(m["code"]),
            name=str(m["name"]),
            required=bool(m.get("required", True)),
            original=bool(m.get("original", False)),
            copies=int(m.get("copies", 1)),
            e_licence=bool(m.get("e_licence", False)),
            agent=bool(m.get("agent", False)),
            paper=bool(m.get("paper", False)),
        )
        for m in front.get("materials") or ()
    )
    results = tuple(DeliveryMethod(r) for r in front.get("results") or ("mail",))
    return GuideConfig(
        item=str(front["item"]),
        version=int(front.get("version", 1)),
        status=str(front.get("status", "default")),
        materials=materials,
        limits=limits,
        results=results,
        modes=tuple(str(m) for m in front.get("modes") or ("proxy",)),
        decision_labels=decision_labels(front.get("decision")),
    )


def missing_materials(
    config: GuideConfig, handed_in: Iterable[str], *, agent: bool = False
) -> tuple[str, ...]:
    """Names of required materials not handed in, in the guide's order (for the one-time
    notice); those the guide asks of an agent only when one appears."""
    have = set(handed_in)
    return tuple(
        m.name
        for m in config.materials
        if m.required and (agent or not m.agent) and m.code not in have
    )


def originals_to_mail(config: GuideConfig, handed_in: Mapping[str, bool]) -> tuple[str, ...]:
    """Codes of handed-in materials whose original must go to the home department.

    `handed_in` maps a material code to whether an electronic licence verified it; such an
    original needs no mailing when the guide allows the licence to replace it.
    """
    out = []
    for code, licence_verified in handed_in.items():
        spec = config.material(code)
        if spec is None or not spec.original:
            continue
        if spec.e_licence and licence_verified:
            continue
        out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class Material:
    """A material handed in with a case, as checked against the case's guide."""

    code: str
    name: str
    copies: int = 1
    original_required: bool = False
    e_licence_verified: bool = False
    licence_no: str = ""  # the electronic licence's number (电子证照编号), when verified by one


class MaterialsInvalid(ValueError):
    """Materials a guide does not list, listed twice, or with no copies; says which."""

    code = "input.invalid"

    def __init__(self, message: str, *, field: str = "materials") -> None:
        super().__init__(message)
        self.field = field


def check_materials(config: GuideConfig, given: Sequence[MaterialIn]) -> tuple[Material, ...]:
    """The materials as the guide knows them, or MaterialsInvalid naming the first problem."""
    seen: set[str] = set()
    out: list[Material] = []
    for m in given:
        spec = config.material(m.code)
        if spec is None:
            known = "、".join(f"{s.code}（{s.name}）" for s in config.materials)
            raise MaterialsInvalid(f"材料：操作指南中没有材料「{m.code}」。可选：{known}。")
        if m.code in seen:
            raise MaterialsInvalid(f"材料：材料「{spec.name}」重复登记。")
        if m.copies < 1:
            raise MaterialsInvalid(f"材料：材料「{spec.name}」份数须至少为1。")
        verified = m.e_licence_verified and spec.e_licence
        licence_no = m.licence_no.strip() if verified else ""
        if verified and not licence_no:
            raise MaterialsInvalid(
                f"电子证照编号：材料「{spec.name}」已通过电子证照核验的，请填写电子证照编号。",
                field="licence_no",
            )
        seen.add(m.code)
        out.append(
            Material(
                code=spec.code,
                name=spec.name,
                copies=m.copies,
                original_required=spec.original,
                e_licence_verified=verified,
                licence_no=licence_no,
            )
        )
    return tuple(out)


def originals_required(config: GuideConfig, materials: Iterable[Material]) -> bool:
    """Whether any handed-in material's original must travel to the home department."""
    return bool(originals_to_mail(config, {m.code: m.e_licence_verified for m in materials}))


def unscanned(
    config: GuideConfig,
    handed_in: Iterable[Material],
    scanned: Iterable[str],
    paper_only: Iterable[str] = (),
    *,
    agent: bool = False,
) -> tuple[str, ...]:
    """Names of the guide's required materials (必交) a forward would send without a file:
    no scan uploaded, not verified through an electronic licence (the home department looks
    the licence up by its number), and not declared paper-only."""
    files = set(scanned)
    paper = set(paper_only)
    licensed = {m.code for m in handed_in if m.e_licence_verified}
    return tuple(
        m.name
        for m in config.materials
        if m.required and (agent or not m.agent) and m.code not in files | licensed | paper
    )


def paper_refused(config: GuideConfig, paper_only: Iterable[str]) -> tuple[str, ...]:
    """Of the codes declared paper-only, those the guide does not allow on paper alone (by
    name; an unknown code by itself)."""
    out = []
    for code in paper_only:
        spec = config.material(code)
        if spec is None or not spec.paper_allowed:
            out.append(spec.name if spec else code)
    return tuple(out)
