"""Default operating guides for catalog items that have none yet.

A default guide is a template, not a guide: `status: default`, a `defaults_notice`, a banner
at the top of the body, and every generated value marked 【默认值】, so nobody mistakes it for
the lead unit's real rules. Materials are only the applicant's identity proof and an
application form (no originals to mail); time limits are the system defaults.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tongban.workflow.stages import DEFAULT_LIMIT_DAYS, DEFAULT_PROMISED_DAYS, Stage

from ..core.errors import ConfigurationError
from .validation import MODE_LABELS, validate_guide

BATCH_LABELS = {1: "第一批", 2: "第二批", 3: "“2021年以后实现”部分"}
# The stages a default guide writes out (mailing keeps the workflow's default silently).
DEFAULT_LIMITS = {
    stage.value: DEFAULT_LIMIT_DAYS.get(stage, DEFAULT_PROMISED_DAYS)
    for stage in (Stage.FORWARD, Stage.ACCEPT, Stage.DECIDE, Stage.DELIVER)
}
DEFAULT_MARK = "【默认值】"
LEAD_NOT_PRINTED = "事项清单未列明牵头单位"

_MATERIALS = (
    (
        "identity_document",
        "申请人身份证明（自然人为居民身份证等有效身份证件；法人或其他组织为营业执照等"
        "主体资格证明及经办人身份证件）",
    ),
    ("application_form", "申请表（申请人签字或盖章）"),
)
_CHANNELS = {
    "proxy": ("window",),
    "joint": ("window",),
    "online": ("online", "window"),
    "on_site": ("window",),
}
_RESULTS = {
    "proxy": ("mail", "window"),
    "joint": ("mail", "window"),
    "online": ("electronic", "mail"),
    "on_site": ("window",),
}


def lead_text(row: Mapping[str, Any]) -> str:
    """The lead unit(s) as printed, or a plain statement that the catalog prints none."""
    return "、".join(row["lead"]) if row["lead"] else LEAD_NOT_PRINTED


def defaults_notice(row: Mapping[str, Any]) -> str:
    return (
        f"本指南为系统按事项清单生成的默认模板，内容待牵头单位（{lead_text(row)}）补充完善，"
        "不得作为办事依据。"
    )


# Items that are no 20-day proxy case, by what their name says, with the reason each
# guide gives: done instantly online or by self-service, or in person on the spot.
_NOT_BY_PROXY: tuple[tuple[str, str, str], ...] = (
    ("查询打印", "online",
     "本事项为即时查询打印，可通过国家社会保险公共服务平台、电子社保卡或自助终端全程网办、"
     "当场取得结果，无需窗口代收、异地受理，故标为全程网办，不作为异地代收代办办件收件。"),
    ("资格认证", "online",
     "本事项为待遇资格认证，可通过国家社会保险公共服务平台、电子社保卡等以人脸识别自助认证，"
     "即时完成，故标为全程网办，不作为20个工作日的异地代收代办办件收件。"),
    ("临时挂失", "online",
     "本事项为临时挂失，须在申请当时生效，可通过电话、电子社保卡或网上平台即时办理，"
     "故标为全程网办，不作为异地代收代办办件收件。"),
    ("直接结算", "on_site",
     "本事项为跨省直接结算，在定点医疗机构就医时当场结算，不经收件窗口，故标为就地办理，"
     "不作为异地代收代办办件收件。"),
    ("婚登记", "on_site",
     "婚姻登记须双方当事人本人同时到场、当场审查、当场办结（《婚姻登记条例》），由当事人到"
     "试点地区的婚姻登记机关办理，不能由窗口代收后转办，故标为就地办理，"
     "不作为异地代收代办办件收件。"),
)  # fmt: skip


def mode_choice(name: str) -> tuple[str, str] | None:
    """(mode, why) for an item that is no proxy case by its nature; None otherwise."""
    for marker, mode, why in _NOT_BY_PROXY:
        if marker in name:
            return mode, why
    return None


def default_mode(scenario: str, name: str = "") -> str:
    """The mode the item's name or its scenario wording makes obvious.

    Instant or in-person services (mode_choice) first; then 网上 -> online (全程网办);
    协同办理 (转入地与转出地协同办理) -> joint (多地联办); else proxy.
    """
    chosen = mode_choice(name)
    if chosen is not None:
        return chosen[0]
    if "网上" in scenario:
        return "online"
    if "协同办理" in scenario:
        return "joint"
    return "proxy"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _review(row: Mapping[str, Any], mode: str, todo: str) -> str:
    chosen = mode_choice(row["name"])
    if chosen is not None:
        return f"【办理方式】{chosen[1]}{DEFAULT_MARK}{todo}"
    return f"{DEFAULT_MARK}按“跨省通办”{MODE_LABELS[mode]}一般流程办理，{todo}"


def _front(row: Mapping[str, Any], mode: str) -> str:
    lead = lead_text(row)
    scenario = row["scenario"] or "（事项清单未列明应用场景）"
    todo = f"具体申请条件待牵头单位（{lead}）补充完善。"
    review_todo = f"具体审核程序待牵头单位（{lead}）补充完善。"
    limits = "\n".join(f"  {stage}: {days}" for stage, days in DEFAULT_LIMITS.items())
    materials = "\n".join(
        f"  - code: {code}\n    name: {_q(name)}\n    required: true\n    original: false\n"
        "    copies: 1\n    e_licence: false"
        for code, name in _MATERIALS
    )
    return f"""---
item: "{row["code"]}"
version: 1
status: default
defaults_notice: {_q(defaults_notice(row))}
modes: {_flow([mode])}
conditions: {_q(f"{DEFAULT_MARK}按事项清单所列应用场景办理：{scenario}{todo}")}
channels: {_flow(_CHANNELS[mode])}
review: {_q(_review(row, mode, review_todo))}
time_limits:
{limits}
results: {_flow(_RESULTS[mode])}
fees: {_q(f"{DEFAULT_MARK}收费标准待牵头单位（{lead}）确认。")}
materials:
{materials}
---
"""


_MODE_TEXT = {
    "proxy": "异地代收代办（proxy，收受分离）：收件地“跨省通办”专窗负责收件、形式审查和身份核验，"
    "将申请信息和材料在线推送至办理地部门；办理地部门负责受理、实质性审查并作出决定。",
    "joint": "多地联办（joint）：申请人在一地提交申请，由受理地部门与其他相关地部门通过内部协同"
    "各自完成办理环节，申请人不再需要到另一地办理。",
    "online": "全程网办（online）：申请人通过网上平台提交申请，办理地部门在线受理、审查并作出决定；"
    "收件窗口工作人员可引导、辅助申请人完成网上申报。",
    "on_site": "就地办理（on_site）：申请人本人到办理机关（或定点机构）现场申请，当场审查、"
    "当场办结；收件窗口不作代收转办，只作引导。",
}

_REVIEW_STEPS = {
    "proxy": (
        "收件（收件窗口）：核对申请材料是否齐全、是否符合法定形式；材料不全的，一次性告知需补正的"
        "全部材料，补正期间不计时。",
        "身份核验（收件窗口）：查验申请人（或经办人）身份证件。",
        "推送（收件窗口）：收件后1个工作日内将申请信息和材料在线推送至办理地部门。",
        "受理（办理地部门）：收到推送后2个工作日内作出受理或退回决定。",
        "审查决定（办理地部门）：进行实质性审查，在承诺时限内作出准予或不予许可的决定。",
        "送达（办理地部门）：作出决定后1个工作日内送达办理结果。",
    ),
    "joint": (
        "收件（受理地）：核对申请材料并核验申请人身份；材料不全的，一次性告知需补正的全部材料。",
        "推送（受理地）：收件后1个工作日内将申请信息推送至相关地部门。",
        "受理（相关地部门）：收到推送后2个工作日内受理或退回。",
        "协同办理（各地部门）：各地部门在承诺时限内分别完成本地办理环节，全部完成后办结。",
        "送达：办结后1个工作日内送达办理结果。",
    ),
    "online": (
        "网上申报（申请人）：在网上平台实名认证后提交申请和材料电子件；窗口工作人员可辅助申报。",
        "受理（办理地部门）：收到申请后2个工作日内受理；材料不全的，一次性告知需补正的全部材料。",
        "审查决定（办理地部门）：在承诺时限内作出准予或不予许可的决定。",
        "送达（办理地部门）：作出决定后1个工作日内网络送达或寄递办理结果。",
    ),
    "on_site": (
        "现场申请（申请人本人）：到办理机关或定点机构现场提交申请，出示身份证件。",
        "当场审查（办理机关）：当场审查申请材料和身份，符合条件的当场办结。",
        "当场领取（申请人）：当场取得办理结果。",
    ),
}

_CHANNEL_TEXT = {
    "window": "“跨省通办”专窗（window）：池州市及各县区政务服务中心“跨省通办”专窗现场提交。",
    "online": "网上申报（online）：通过全国一体化政务服务平台“跨省通办”专区或“皖事通办”平台"
    "在线提交。",
}

_RESULT_TEXT = {
    "mail": "寄递送达（mail）：办理结果寄递至申请人指定地址。",
    "window": "窗口领取（window）：办理结果寄至收件地“跨省通办”专窗，申请人凭身份证件领取。",
    "electronic": "网络送达（electronic）：通过网上平台送达电子办理结果。",
}


def _body(row: Mapping[str, Any], mode: str) -> str:
    lead = lead_text(row)
    batch_label = BATCH_LABELS[row["batch"]]
    if row["cooperating"]:
        cooperating = "、".join(row["cooperating"])
    elif row["batch"] == 3:
        cooperating = "清单该部分无配合单位一栏"
    else:
        cooperating = "清单未列"
    lines = [
        f"> **【默认模板】** {defaults_notice(row)}",
        "",
        f"# {row['name']}“跨省通办”操作指南（默认模板）",
        "",
        f"- 事项编码：{row['code']}"
        f"（全国高频政务服务“跨省通办”事项清单{batch_label}第{row['seq']}项）",
        f"- 牵头单位：{'、'.join(row['lead']) or '事项清单未列明'}；配合单位：{cooperating}",
        f"- 应用场景：{row['scenario'] or '（事项清单未列明）'}",
    ]
    if row.get("deadline"):
        lines.append(f"- 完成时限：{row['deadline']}")
    if row["lead_missing"]:
        lines.append(
            "- 说明：事项清单（附件1）本行未印出牵头单位；牵头单位明确后，由其补充完善本指南。"
        )
    lines += [
        f"- 指南状态：默认模板。凡标注“{DEFAULT_MARK}”的内容均由系统按事项清单和“跨省通办”"
        "一般流程生成，未经牵头单位确认。",
        "",
        "## 申请条件",
        "",
        f"{DEFAULT_MARK}按事项清单所列应用场景办理：{row['scenario'] or '（未列明）'}"
        f"具体申请条件（申请人范围、资格要求等）待牵头单位（{lead}）补充完善。",
        "",
        "## 申报方式",
        "",
        *(f"- {DEFAULT_MARK}{_CHANNEL_TEXT[c]}" for c in _CHANNELS[mode]),
        "",
        "具体申报渠道待牵头单位确认。",
        "",
        "## 受理模式",
        "",
        f"- {DEFAULT_MARK}{_MODE_TEXT[mode]}",
        "",
        "适用的通办模式待牵头单位确认。",
        "",
        "## 审核程序",
        "",
        f"{DEFAULT_MARK}按“跨省通办”{MODE_LABELS[mode]}一般流程：",
        "",
        *(f"{k}. {step}" for k, step in enumerate(_REVIEW_STEPS[mode], start=1)),
        "",
        "具体审核程序待牵头单位补充完善。",
        "",
        "## 办理时限",
        "",
        f"{DEFAULT_MARK}以下为系统默认时限，待牵头单位按本事项的法定时限和承诺时限确认：",
        "",
        "| 环节 | 责任方 | 时限（工作日） |",
        "| --- | --- | --- |",
        f"| 收件推送{'（经窗口辅助申报的）' if mode == 'online' else ''} | 收件窗口 | "
        f"{DEFAULT_LIMITS['forward']} |",
        f"| 办理地受理 | 办理地部门 | {DEFAULT_LIMITS['accept']} |",
        f"| 审查决定（承诺时限） | 办理地部门 | {DEFAULT_LIMITS['decide']} |",
        f"| 结果送达 | 办理地部门 | {DEFAULT_LIMITS['deliver']} |",
        "",
        "补正期间不计入时限。",
        "",
        "## 发证方式",
        "",
        *(f"- {DEFAULT_MARK}{_RESULT_TEXT[r]}" for r in _RESULTS[mode]),
        "",
        "具体发证方式待牵头单位确认。",
        "",
        "## 收费标准",
        "",
        f"{DEFAULT_MARK}收费标准待牵头单位（{lead}）确认。",
        "",
        "## 申请材料",
        "",
        f"{DEFAULT_MARK}仅列出身份证明和申请表两项通用材料，完整材料清单（含须审查原件的材料）"
        "待牵头单位补充完善。",
        "",
        "| 序号 | 代码 | 材料名称 | 是否必需 | 原件须交办理地审查 | 份数 | 可用电子证照替代原件 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {k} | {code} | {name} | 是 | 否 | 1 | 否 |"
            for k, (code, name) in enumerate(_MATERIALS, start=1)
        ),
        "",
    ]
    return "\n".join(lines)


def default_guide(row: Mapping[str, Any]) -> str:
    """The default guide text for one catalog row (as in docs/catalog.yaml)."""
    mode = default_mode(row["scenario"] or "", row["name"])
    return _front(row, mode) + "\n" + _body(row, mode)


@dataclass(frozen=True)
class ScaffoldReport:
    created: list[str]  # item codes whose guide was written
    kept: int  # guides already present, left untouched


def scaffold_guides(folder: Path, rows: Iterable[Mapping[str, Any]]) -> ScaffoldReport:
    """Write `<code>.md` for every row lacking one; an existing file is never overwritten."""
    rows = list(rows)
    codes = {str(row["code"]) for row in rows}
    created: list[str] = []
    kept = 0
    for row in rows:
        text = default_guide(row)
        errors = validate_guide(text, f"{row['code']}.md", known_items=codes)
        if errors:  # a generator bug: refuse to write a guide that would not validate
            raise ConfigurationError(
                "生成的默认指南未通过校验：" + "；".join(str(e) for e in errors),
                code="guide.scaffold_invalid",
            )
        try:
            with (folder / f"{row['code']}.md").open("x", encoding="utf-8", newline="\n") as out:
                out.write(text)
        except FileExistsError:
            kept += 1
            continue
        created.append(str(row["code"]))
    return ScaffoldReport(created, kept)
