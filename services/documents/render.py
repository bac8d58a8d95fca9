"""Render functions: one per document, pure (typed input in, PDF bytes out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.graphics.barcode.qr import QrCodeWidget  # type: ignore[import-untyped]
from reportlab.graphics.shapes import Drawing  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from .inputs import (
    DecisionNotice,
    DeclineNotice,
    Document,
    Header,
    History,
    NotAcceptedNotice,
    Party,
    Receipt,
    SupplementNotice,
    TransferSlip,
)
from .layout import (
    CELL_SMALL,
    CENTER,
    DECISION,
    GRID,
    NOTE,
    PLAIN,
    SECTION,
    WIDTH,
    SealMark,
    build,
    esc,
    facts,
    grid,
    local,
    para,
    signature_block,
    title_block,
)
from .lookup import printed


def _party(p: Party) -> str:
    text = f"{p.name}（{p.document_label} {p.document_masked}）"
    return f"{text}，{p.note}" if p.note else text


def _case_rows(h: Header) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("办件编号", h.case_no),
        ("申请事项", f"{h.item_name}（事项编码 {h.item_code}）"),
        ("申请人", _party(h.applicant)),
    ]
    if h.agent is not None:
        rows.append((h.agent.role, _party(h.agent)))
    return rows


def _finish(h: Header, story: list[Any]) -> bytes:
    return build(
        story, title=h.title, issuer=h.issuer, doc_no=h.doc_no, case_no=h.case_no, at=h.issued_at
    )


def _numbered(lines: tuple[str, ...]) -> list[Any]:
    return [para(f"{i}. {text}", PLAIN) for i, text in enumerate(lines, start=1)]


def _qr(url: str, size: float = 34 * mm) -> Drawing:
    widget = QrCodeWidget(url)
    widget.barLevel = "M"
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def render_receipt(doc: Receipt) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    story.append(
        para(
            f"{h.applicant.name}：您（单位）申请的「{h.item_name}」已于{local(h.received_at)}"
            f"在{h.office_name}收件登记，由{h.department_name}办理。办件信息如下："
        )
    )
    rows = _case_rows(h)
    rows += [
        ("办理地部门", h.department_name),
        ("收件人", doc.clerk),
        ("收件时间", local(h.received_at)),
        ("结果送达方式", doc.delivery),
    ]
    if doc.contact_phone:
        rows.append(("申请人联系电话", doc.contact_phone))
    rows.append(("收件窗口", f"{h.office_name}（{doc.window_contact}）"))
    story += [facts(rows), Paragraph("一、已收取的申请材料", SECTION)]
    if doc.materials:
        story.append(
            grid(
                ("序号", "材料名称", "份数", "形式", "原件"),
                [
                    (i, m.name, m.copies, m.form, m.original)
                    for i, m in enumerate(doc.materials, start=1)
                ],
                (10, 60, 10, 18, 32),
            )
        )
    else:
        story.append(para("（收件时未收取申请材料）", PLAIN))
    story.append(Paragraph("二、承诺办理时限", SECTION))
    if doc.limits:
        story.append(
            grid(
                [x.stage for x in doc.limits],
                [[f"{x.days} 个工作日" for x in doc.limits]],
                [1] * len(doc.limits),
                style=CENTER,
            )
        )
    story.append(
        para(
            "审查决定时限即承诺时限，自受理（须审查原件的，自原件寄达）起算。补正材料期间、中止期间、特别程序（检验、检测、鉴定、专家评审、听证、公示）"
            "期间、原件寄递途中及申请人领取等候时间不计入办理时限。",
            NOTE,
        )
    )
    lookup = Table(
        [
            [
                _qr(doc.lookup_url, 30 * mm),
                [
                    Paragraph(
                        f"查询码：<font size=16>{esc(printed(doc.lookup_code))}</font>", PLAIN
                    ),
                    Spacer(1, 2 * mm),
                    para(
                        f"扫描左侧二维码或访问 {doc.lookup_url}，输入查询码即可查询办理进度。",
                        PLAIN,
                    ),
                    para("查询码只印在本回执上，请妥善保管，勿告知他人。", NOTE),
                ],
            ]
        ],
        colWidths=[34 * mm, WIDTH - 78 * mm],
        hAlign="LEFT",
    )
    lookup.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    seal = [
        SealMark(h.issuer, 32 * mm),
        Paragraph(esc(local(h.issued_at, minutes=False)), CENTER),
    ]
    bottom = Table([[lookup, seal]], colWidths=[WIDTH - 44 * mm, 44 * mm], hAlign="LEFT")
    bottom.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "CENTER")])
    )
    story.append(KeepTogether([Paragraph("三、办理进度查询", SECTION), bottom]))
    return _finish(h, story)


def render_supplement_notice(doc: SupplementNotice) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    story.append(para(f"{h.applicant.name}：", PLAIN))
    story.append(
        para(
            f"您（单位）于{local(h.received_at)}在本窗口申请的「{h.item_name}」（办件编号 "
            f"{h.case_no}），经形式审查，申请材料不齐全或者不符合法定形式。现一次性告知您需要"
            "补正的全部内容如下："
        )
    )
    story.append(facts(_case_rows(h)))
    story.append(Spacer(1, 4 * mm))
    story.append(
        grid(
            ("序号", "需补正的材料或事项", "原因及要求"),
            [(i, x.material, x.reason) for i, x in enumerate(doc.lines, start=1)],
            (10, 50, 70),
        )
    )
    story.append(Paragraph("补正期限", SECTION))
    story.append(
        para(
            f"请自收到本告知书之日起 {doc.days} 个工作日内补正。补正期间不计入办理时限，"
            "补正齐全后本窗口继续办理。"
        )
    )
    story.append(Paragraph("补正地点及方式", SECTION))
    story.append(
        para(
            f"请携带上述材料（原件及复印件）到{h.office_name}补正，或按窗口告知的方式提交。"
            f"联系方式：{doc.window_contact}。经办人：{doc.clerk}。"
        )
    )
    story.append(signature_block(h.issuer, h.issued_at))
    return _finish(h, story)


def render_decline_notice(doc: DeclineNotice) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    story.append(para(f"{h.applicant.name}：", PLAIN))
    story.append(
        para(
            f"您（单位）于{local(h.received_at)}在本窗口申请的「{h.item_name}」（办件编号 "
            f"{h.case_no}），经审查，本窗口决定不予收件。理由如下："
        )
    )
    story += _numbered(doc.reasons)
    story.append(Spacer(1, 3 * mm))
    story.append(facts([*_case_rows(h), ("办理地部门", h.department_name)]))
    story.append(Spacer(1, 3 * mm))
    story.append(
        para(
            f"不予收件不是对申请的实体审查。您可以按理由补齐条件后重新申请，也可以直接向办理地"
            f"部门（{h.department_name}）提出申请。对本告知有异议的，可向本窗口或其所属政务服务"
            f"管理机构反映。联系方式：{doc.window_contact}。经办人：{doc.clerk}。"
        )
    )
    story.append(signature_block(h.issuer, h.issued_at))
    return _finish(h, story)


def render_not_accepted_notice(doc: NotAcceptedNotice) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    story.append(para(f"{h.applicant.name}：", PLAIN))
    story.append(
        para(
            f"你（单位）于{local(h.received_at)}通过{h.office_name}提出的「{h.item_name}」申请"
            f"（办件编号 {h.case_no}），本机关已收到。经审查，决定不予受理。理由如下："
        )
    )
    story += _numbered(doc.reasons)
    story.append(Paragraph("法律依据", SECTION))
    story.append(para(doc.legal_basis))
    story.append(Paragraph("救济途径和期限", SECTION))
    story.append(para(doc.remedies))
    story.append(
        grid(
            ("救济途径", "期限", "起算"),
            [
                ("申请行政复议", f"{doc.review_days}日", "自收到本通知书之日起"),
                ("提起行政诉讼", f"{doc.litigation_months}个月", "自收到本通知书之日起"),
            ],
            (30, 20, 50),
        )
    )
    story.append(Spacer(1, 3 * mm))
    story.append(facts([*_case_rows(h), ("收件窗口", h.office_name), ("经办人", doc.reviewer)]))
    story.append(signature_block(h.issuer, h.issued_at))
    return _finish(h, story)


def render_transfer_slip(doc: TransferSlip) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    rows = _case_rows(h)
    rows += [
        ("寄出单位（收件地）", doc.sender_unit),
        ("接收单位（办理地）", doc.receiver_unit),
        ("寄递企业", doc.carrier),
        ("运单号", doc.tracking_no),
        ("寄出时间", local(h.issued_at)),
        ("寄件人", doc.sender),
    ]
    story += [facts(rows, label_width=34 * mm), Paragraph("随附材料清单", SECTION)]
    story.append(
        grid(
            ("序号", "材料名称", "份数", "原件/复印件", "备注"),
            [
                (i, x.name, x.copies, "原件" if x.original else "复印件", x.note)
                for i, x in enumerate(doc.lines, start=1)
            ],
            (10, 54, 10, 18, 38),
        )
    )
    originals = sum(1 for x in doc.lines if x.original)
    story.append(
        para(
            f"共 {len(doc.lines)} 项，其中原件 {originals} 项。原件审查完毕后请按规定退还申请人。",
            NOTE,
        )
    )
    story.append(Paragraph("接收确认", SECTION))
    confirm = facts(
        [
            ("接收单位签收", ""),
            ("签收日期", ""),
            ("材料核对", "□ 与清单相符　　□ 不符（请注明）"),
        ],
        label_width=34 * mm,
    )
    story.append(KeepTogether([confirm]))
    story.append(signature_block(h.issuer, h.issued_at))
    return _finish(h, story)


def render_decision_notice(doc: DecisionNotice) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    story.append(para(f"{h.applicant.name}：", PLAIN))
    accepted = f"本机关于{local(doc.accepted_at)}受理，" if doc.accepted_at else ""
    story.append(
        para(
            f"你（单位）于{local(h.received_at)}通过{h.office_name}提出的「{h.item_name}」申请"
            f"（办件编号 {h.case_no}），{accepted}经审查，于{local(doc.decided_at)}作出决定："
        )
    )
    story.append(Paragraph(f"<font size=14>决定：{esc(doc.decision_label)}</font>", DECISION))
    if doc.reasons:
        story.append(Paragraph("理由" if not doc.approved else "说明", SECTION))
        story += _numbered(doc.reasons)
    if doc.remedies:
        story.append(Paragraph("救济途径和期限", SECTION))
        story.append(para(doc.remedies))
    story.append(facts([*_case_rows(h), ("经办人", doc.reviewer)]))
    story.append(signature_block(h.issuer, h.issued_at))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph("送 达 回 证", SECTION))
    d = doc.delivery
    rows: list[tuple[str, object]] = [
        ("送达文书", f"{h.title}（{h.doc_no}）"),
        ("受送达人", h.applicant.name),
        ("送达方式", d.method if d else f"{doc.delivery_preference}（待送达）"),
    ]
    if doc.delivery_address:
        rows.append(("送达地址", doc.delivery_address))
    if d is not None and (d.carrier or d.tracking_no):
        rows.append(("寄递企业及运单号", f"{d.carrier} {d.tracking_no}".strip()))
    rows += [
        ("送达时间", local(d.at) if d else ""),
        ("送达人", d.by if d else ""),
        ("受送达人签收", ""),
        ("签收日期", ""),
    ]
    story.append(KeepTogether([facts(rows, label_width=34 * mm)]))
    return _finish(h, story)


def render_history(doc: History) -> bytes:
    h = doc.header
    story: list[Any] = title_block(h.title, h.doc_no)
    rows = _case_rows(h)
    rows += [
        ("收件窗口", h.office_name),
        ("办理地部门", h.department_name),
        ("当前状态", doc.state),
        ("记录截至", f"第 {len(doc.events)} 条事件，{local(h.issued_at)}"),
    ]
    story += [facts(rows), Spacer(1, 4 * mm)]
    lines = []
    for e in doc.events:
        change = f"{e.from_state} → {e.to_state}" if e.from_state != e.to_state else e.to_state
        record = [*(f"理由：{r}" for r in e.reasons), *e.details]
        lines.append(
            (
                e.seq,
                local(e.at),
                f"{e.actor}（{e.role}）\n{e.unit}",
                e.action,
                change,
                "\n".join(record) or "—",
            )
        )
    story.append(
        grid(
            ("序号", "时间", "操作人及单位", "操作", "状态变化", "理由及记录"),
            lines,
            (8, 17, 29, 14, 20, 42),
            style=CELL_SMALL,
        )
    )
    story.append(Paragraph("审计链校验", SECTION))
    color = "#006400" if doc.chain_ok else "#B00000"
    story.append(Paragraph(f'<font color="{color}">{esc(doc.chain_text)}</font>', PLAIN))
    story.append(signature_block(h.issuer, h.issued_at))
    return _finish(h, story)


_RENDERERS: dict[type[Any], Callable[[Any], bytes]] = {
    Receipt: render_receipt,
    SupplementNotice: render_supplement_notice,
    DeclineNotice: render_decline_notice,
    NotAcceptedNotice: render_not_accepted_notice,
    TransferSlip: render_transfer_slip,
    DecisionNotice: render_decision_notice,
    History: render_history,
}


def render(doc: Document) -> bytes:
    """The unsigned, deterministic PDF of `doc`."""
    return _RENDERERS[type(doc)](doc)
