"""Documents: every kind read back from the PDF, the receipt's QR code decoded from the
rendered page, a 300-event history over several pages, determinism against the audit
hash, the seal checked by `tongban documents verify`, and scope."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select, update
from typer.testing import CliRunner

from tongban.api.cli.main import app as cli
from tongban.models import AuditEvent, Case, CaseDocument
from tongban.services.audit.chain import append_event, verify_chains
from tongban.services.core.config import Settings
from tongban.services.core.errors import CaseNotFound, Conflict, InvalidInput
from tongban.services.core.runtime import Runtime
from tongban.services.documents.issue import (
    IssuedDocument,
    document_links,
    issue_document,
    parse_kind,
)
from tongban.services.documents.kinds import DOCUMENT_ISSUED, Kind
from tongban.services.documents.lookup import code_matches, derive_code, printed
from tongban.services.documents.seal import load_seal, make_demo_p12, verify_pdf
from tongban.services.files.maintenance import gc as gc_files
from tongban.services.files.maintenance import verify as verify_files
from tongban.workflow.commands import (
    Accept,
    Decline,
    Deliver,
    MailOriginals,
    NotAccept,
    ReceiveOriginals,
    Refuse,
    RequestSupplement,
    ReturnToWindow,
)

from ..world import World, build_world, diploma_application
from .test_audit_tamper import as_dba, case_id
from .test_migrations import tongban

DIPLOMA_MATERIALS = (
    "申请人居民身份证",
    "学历证书（毕业证书）原件及复印件",
    "公证申请表（申请人签名）",
)


@pytest.fixture(scope="session")
def seal_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seal") / "seal.p12"
    path.write_bytes(make_demo_p12())
    return path


@pytest.fixture
def world(rt: Runtime, seal_file: Path) -> World:
    rt.seal = load_seal(Settings(seal_p12=seal_file, audit_key_file=seal_file))
    return build_world(rt)


def issue(w: World, case_no: str, kind: Kind, who: str = "clerk.cz", **kw: bool) -> IssuedDocument:
    return issue_document(
        w.uow(), case_no=case_no, kind=kind, actor=w.actors[who], now=w.tick(0.1), **kw
    )


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Text without line breaks and spaces: a wrapped table cell reads as one string."""
    return "".join(text.split())


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def test_receipt_names_the_case_and_every_material_and_its_qr_decodes(world: World) -> None:
    case_no = world.receive(diploma_application())
    doc = issue(world, case_no, Kind.RECEIPT)
    text = flat(text_of(doc.pdf))
    assert case_no in text and "学历公证" in text and "张伟" in text
    for name in DIPLOMA_MATERIALS:
        assert flat(name) in text
    assert "杭州市西湖公证处" in text and "第1页共1页" in text
    assert "341702********" in text and "19900315" not in text  # the ID masked

    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == case_no)).one()
        nonce, stored = case.lookup_nonce, case.lookup_hash
    assert nonce and stored
    code = derive_code(world.rt.key.secret, case_no, nonce)
    assert code_matches(case_no, code, stored) and not code_matches(case_no, "00000000", stored)
    assert flat(printed(code)) in text  # printed beside the QR code

    page = pypdfium2.PdfDocument(doc.pdf)[0]
    image = page.render(scale=3).to_pil()
    found = zxingcpp.read_barcodes(image)
    url = f"{world.rt.settings.public_url}/lookup/{case_no}"
    assert [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode] == [url]
    assert code not in url


def test_supplement_notice_lists_every_item_with_its_reason(world: World) -> None:
    case_no = world.receive(diploma_application())
    items = ["学历证书原件：复印件不清晰，请携带原件", "公证申请表：缺少申请人签名"]
    world.act(RequestSupplement, "clerk.cz", case_no, notice_items=items)
    text = flat(text_of(issue(world, case_no, Kind.SUPPLEMENT_NOTICE).pdf))
    for piece in ("学历证书原件", "复印件不清晰，请携带原件", "公证申请表", "缺少申请人签名"):
        assert flat(piece) in text
    assert case_no in text and "学历公证" in text and "10个工作日内补正" in text


def test_supplement_after_a_return_carries_the_home_departments_reasons(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.forward(case_no)
    world.act(ReturnToWindow, "reviewer.gz", case_no, reasons=["学历证书复印件不清晰"])
    world.act(RequestSupplement, "clerk.cz", case_no, notice_items=["学历证书：重新扫描"])
    text = flat(text_of(issue(world, case_no, Kind.SUPPLEMENT_NOTICE).pdf))
    assert "杭州市西湖公证处退回意见" in text and "学历证书复印件不清晰" in text


def test_decline_notice(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.act(
        Decline, "clerk.cz", case_no, reasons=["申请人不愿补正材料", "事项不在本窗口受理范围"]
    )
    text = flat(text_of(issue(world, case_no, Kind.DECLINE_NOTICE).pdf))
    assert "不予收件告知书" in text and case_no in text and "学历公证" in text
    assert "申请人不愿补正材料" in text and "事项不在本窗口受理范围" in text


def test_not_accepted_notice_gives_legal_basis_and_remedies(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.forward(case_no)
    world.act(
        NotAccept, "reviewer.gz", case_no, reasons=["不属于本公证处执业区域"],
        legal_basis="《公证法》第二十五条", review_body="浙江省司法厅", court="西湖区人民法院",
    )  # fmt: skip
    doc = issue(world, case_no, Kind.NOT_ACCEPTED_NOTICE, who="reviewer.gz")
    text = flat(text_of(doc.pdf))
    assert "不予受理通知书" in text and case_no in text and "学历公证" in text
    for piece in ("不属于本公证处执业区域", "《公证法》第二十五条", "浙江省司法厅", "行政复议"):
        assert piece in text
    assert "行政诉讼" in text and "60日" in text and "6个月" in text
    assert "杭州市西湖公证处" in text  # the issuing department


def test_transfer_slip_lists_originals_and_copies_and_the_tracking_number(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.forward(case_no)
    world.act(Accept, "reviewer.gz", case_no)
    world.act(
        MailOriginals, "clerk.cz", case_no, carrier="中国邮政EMS", tracking_no="1100000000009"
    )
    text = flat(text_of(issue(world, case_no, Kind.TRANSFER_SLIP).pdf))
    assert "跨省通办流转单" in text and case_no in text and "学历公证" in text
    for name in DIPLOMA_MATERIALS:
        assert flat(name) in text
    assert "中国邮政EMS" in text and "1100000000009" in text
    assert "原件" in text and "复印件" in text
    assert "池州市政务服务中心" in text and "杭州市西湖公证处" in text


def test_decision_notice_with_the_guides_label_and_delivery(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.forward(case_no)
    world.act(Accept, "reviewer.gz", case_no)
    world.act(MailOriginals, "clerk.cz", case_no, carrier="中国邮政EMS", tracking_no="11000001")
    world.act(ReceiveOriginals, "reviewer.gz", case_no)
    world.act(Refuse, "reviewer.gz", case_no, reasons=["学历证书真实性无法核实"])
    refused = issue(world, case_no, Kind.DECISION_NOTICE, who="reviewer.gz")
    text = flat(text_of(refused.pdf))
    assert case_no in text and "学历公证" in text and "学历证书真实性无法核实" in text
    assert "不予办理公证" in text or "不予" in text
    assert "行政复议" in text and "待送达" in text
    world.act(Deliver, "reviewer.gz", case_no, method="mail", carrier="顺丰速运", tracking_no="SF1")
    delivered = issue(world, case_no, Kind.DECISION_NOTICE, who="reviewer.gz")
    assert delivered.source_seq > refused.source_seq and delivered.first_issue
    assert "顺丰速运SF1" in flat(text_of(delivered.pdf))


def test_a_300_event_history_flows_over_pages_and_loses_no_row(world: World) -> None:
    case_no = world.receive(diploma_application())
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == case_no)).one()
        for n in range(2, 301):
            append_event(
                uow.session, world.rt.key, case, None, action="deadline_warning",
                at=world.tick(0.01), from_state=case.state, to_state=case.state,
                reasons=[f"第{n:03d}号提醒：收件推送时限将至"],
            )  # fmt: skip
        uow.commit()
    doc = issue(world, case_no, Kind.HISTORY, who="supervisor.cz")
    text = flat(text_of(doc.pdf))
    assert pages(doc.pdf) >= 5
    for n in range(2, 301):
        assert f"第{n:03d}号提醒" in text, n
    total = pages(doc.pdf)
    assert f"第{total}页共{total}页" in text and f"第1页共{total}页" in text
    assert "审计链校验通过" in text and "第1–300条事件" in text


def test_history_reports_a_broken_chain(world: World) -> None:
    case_no = world.receive(diploma_application())
    world.act(Decline, "clerk.cz", case_no, reasons=["申请人不愿补正材料"])
    with as_dba(world.rt) as conn:  # past the app, as a database superuser could
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 2, AuditEvent.case_id == case_id(conn, case_no))
            .values(reasons=["改过的理由"])
        )
    text = flat(text_of(issue(world, case_no, Kind.HISTORY).pdf))
    assert "审计链校验未通过" in text and "改过的理由" in text


@pytest.mark.parametrize("kind", [Kind.RECEIPT, Kind.HISTORY])
def test_same_case_same_bytes_and_the_audit_hash_matches_a_re_render(
    world: World, kind: Kind
) -> None:
    case_no = world.receive(diploma_application())
    first = issue(world, case_no, kind, sealed=False)
    again = issue(world, case_no, kind, sealed=False)
    assert first.pdf == again.pdf and first.first_issue and not again.first_issue
    assert hashlib.sha256(again.pdf).hexdigest() == first.sha256
    with world.uow() as uow:
        events = uow.session.scalars(
            select(AuditEvent)
            .join(Case)
            .where(Case.case_no == case_no, AuditEvent.action == DOCUMENT_ISSUED)
        ).all()
        versions = uow.session.scalars(select(Case.version).where(Case.case_no == case_no)).one()
    assert [e.payload["sha256"] for e in events] == [first.sha256]  # recorded once
    assert events[0].payload["kind"] == kind.value
    assert versions == 1  # issuing never moves the case's version
    # Later events change neither the receipt nor a history issued before them.
    world.act(Decline, "clerk.cz", case_no, reasons=["申请人不愿补正材料"])
    later = issue(world, case_no, kind, sealed=False)
    if kind is Kind.RECEIPT:
        assert later.pdf == first.pdf and not later.first_issue
    else:
        assert later.source_seq > first.source_seq and later.first_issue
    assert verify_chains(world.uow(), case_no) == []


def test_documents_that_do_not_apply_are_refused_clearly(world: World) -> None:
    case_no = world.receive(diploma_application())
    with pytest.raises(Conflict) as err:
        issue(world, case_no, Kind.DECISION_NOTICE)
    assert err.value.code == "document.not_applicable" and "尚未作出审批决定" in err.value.message
    with pytest.raises(InvalidInput):
        parse_kind("invoice")
    kinds = [link.kind for link in document_links(world.uow(), actor=world.actors["clerk.cz"],
                                                  case_no=case_no)]  # fmt: skip
    assert kinds == ["receipt", "history"]


def test_out_of_scope_is_not_found(world: World) -> None:
    case_no = world.receive(diploma_application())
    for who in ("clerk.hz", "reviewer.gz", "reviewer.rs"):
        with pytest.raises(CaseNotFound):
            issue(world, case_no, Kind.RECEIPT, who=who)
    with world.uow() as uow:
        assert uow.session.scalars(select(CaseDocument)).all() == []


@pytest.fixture
def cli_env(world: World, seal_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr("tongban.api.cli.common.configure_logging", lambda **_: None)
    monkeypatch.setenv("TONGBAN_DATABASE_URL", world.rt.settings.database_url)
    monkeypatch.setenv("TONGBAN_AUDIT_KEY", world.rt.settings.audit_key or "")
    monkeypatch.setenv("TONGBAN_SEAL_P12", str(seal_file))
    yield


def test_cli_renders_a_sealed_document_and_verify_catches_one_changed_byte(
    world: World, cli_env: None, tmp_path: Path
) -> None:
    case_no = world.receive(diploma_application())
    runner = CliRunner()
    sealed, bare = tmp_path / "receipt.pdf", tmp_path / "bare.pdf"
    made = runner.invoke(cli, ["documents", "render", case_no, "receipt", "-o", str(sealed)])
    assert made.exit_code == 0, made.output
    made = runner.invoke(
        cli, ["documents", "render", case_no, "receipt", "-o", str(bare), "--unsigned"]
    )
    assert made.exit_code == 0, made.output
    data = sealed.read_bytes()
    assert data.startswith(bare.read_bytes())  # the seal is an incremental update
    assert hashlib.sha256(bare.read_bytes()).hexdigest() in made.stdout

    ok = runner.invoke(cli, ["documents", "verify", str(sealed)])
    assert ok.exit_code == 0, ok.output
    assert "通过" in ok.stdout and "本系统的电子印章" in ok.stdout
    assert "2026年3月10日" in ok.stdout  # sealed at the receipt's time, not the clock's

    changed = bytearray(data)
    at = data.index(rb"tongban \(ReportLab\)")  # the producer, inside the sealed bytes
    changed[at] = ord("T")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(changed))
    bad = runner.invoke(cli, ["documents", "verify", str(tampered)])
    assert bad.exit_code == 1 and "未通过" in bad.output
    unsigned = runner.invoke(cli, ["documents", "verify", str(bare)])
    assert unsigned.exit_code == 1 and "没有电子印章" in unsigned.output
    assert "改动" in bad.output
    assert verify_pdf(bytes(changed)).intact is False


def test_seal_covers_the_recorded_unsigned_render(world: World) -> None:
    case_no = world.receive(diploma_application())
    sealed = issue(world, case_no, Kind.RECEIPT)
    result = verify_pdf(sealed.pdf, world.rt.seal)
    assert result.ok and result.ours
    assert result.sealed_at is not None
    assert abs(result.sealed_at - world.clock) < timedelta(days=1)


def test_init_creates_a_demo_seal_once_and_it_loads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seal.db'}"
    first = tongban(url, tmp_path, "init")
    assert first.returncode == 0, first.stdout + first.stderr
    path = tmp_path / "tongban-seal.p12"
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert "演示电子印章" in first.stdout
    made = path.read_bytes()
    again = tongban(url, tmp_path, "init")
    assert again.returncode == 0 and path.read_bytes() == made  # never replaced
    seal = load_seal(Settings(audit_key_file=tmp_path / "tongban-audit.key"))
    assert "演示" in seal.subject


def test_the_sealed_copy_is_kept_and_served_again(world: World) -> None:
    case_no = world.receive(diploma_application())
    first = issue(world, case_no, Kind.RECEIPT)
    again = issue(world, case_no, Kind.RECEIPT)
    # The same sealed bytes every time: the first issue's copy, kept by its hash.
    assert again.pdf == first.pdf and not again.first_issue
    blob = hashlib.sha256(first.pdf).hexdigest()
    with world.uow() as uow:
        kept = uow.session.scalars(select(CaseDocument.blob)).one()
    assert kept == blob and world.rt.blobs.exists(blob)
    # Files maintenance knows the document is referenced: verify is clean, gc keeps it.
    assert list(verify_files(world.uow())) == []
    swept = gc_files(world.uow(), grace_seconds=0)
    assert blob not in swept.removed and world.rt.blobs.exists(blob)
    # A copy altered in the store is not served: the document is sealed afresh (signing
    # time from the event, so the same bytes), and the store holds them again.
    path = world.rt.blobs.path(blob)
    path.chmod(0o600)
    path.write_bytes(first.pdf[:-1] + b"\n")
    resealed = issue(world, case_no, Kind.RECEIPT)
    assert resealed.pdf == first.pdf and path.read_bytes() == first.pdf
