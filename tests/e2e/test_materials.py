"""Scanned materials over HTTP on both databases: every accepted kind, hostile files, the
audit chain's hashes, the blob store's verify and gc, scope, and the forward rule."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tongban.models import AuditEvent, Case, CaseFile
from tongban.services.audit.chain import verify_chains
from tongban.services.core.errors import TransitionError
from tongban.services.files.maintenance import gc, verify
from tongban.services.files.materials import upload
from tongban.workflow.commands import Forward, PassFormalReview, VerifyIdentity

from ..scans import (
    EXECUTABLE,
    encrypted_pdf_bytes,
    jpeg_bytes,
    ofd_bytes,
    pdf_bytes,
    plain_zip_bytes,
    png_bytes,
)
from ..world import World, diploma_application
from .conftest import Http, problem_of, register

Clients = Any
TONGBAN = Path(sys.executable).parent / "tongban"


def put(client: Http, no: str, slot: str, name: str, data: bytes, media: str = "application/pdf"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/cases/{no}/materials", data={"slot": slot}, files={"file": (name, data, media)}
    )


def _verified_case(world: World) -> str:
    app = diploma_application()
    no = register(world, app)
    world.act(PassFormalReview, "clerk.cz", no)
    world.act(VerifyIdentity, "clerk.cz", no, document_number=app.applicant_id_number)
    return no


def test_every_supported_kind_is_stored_by_its_hash(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    samples = [
        ("diploma", "学历证书.pdf", pdf_bytes("diploma", pages=3), "application/pdf", 3),
        ("id_card", "身份证.jpg", jpeg_bytes(), "image/jpeg", None),
        ("id_card", "身份证背面.PNG", png_bytes(), "image/png", None),
        ("application_form", "申请表.ofd", ofd_bytes(), "application/ofd", None),
    ]
    for slot, name, data, media, pages in samples:
        r = put(clerk, no, slot, name, data, "application/octet-stream")
        assert r.status_code == 201, r.text
        body = r.json()
        sha = hashlib.sha256(data).hexdigest()
        assert body["sha256"] == sha and r.headers["location"] == body["url"]
        assert (body["slot"], body["name"], body["size"], body["media_type"], body["pages"]) == (
            slot, name, len(data), media, pages,
        )  # fmt: skip
        assert body["uploaded_by"] == "王芳（市中心专窗）" and body["unit"] == "CZ01"
        stored = world.rt.blobs.path(sha)
        assert stored.read_bytes() == data and stored.name == sha
        got = clerk.get(body["url"])
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"].startswith(media)
        assert got.headers["x-content-type-options"] == "nosniff"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment" if slot == "application_form" else "inline")
    listed = clerk.get(f"/api/cases/{no}/materials").json()
    assert [f["name"] for f in listed] == [s[1] for s in samples]
    # The same scan twice: two rows, one blob.
    assert put(clerk, no, "diploma", "again.pdf", samples[0][2]).status_code == 201
    assert sum(1 for _ in world.rt.blobs.iterate()) == 4
    assert os.stat(world.rt.blobs.root).st_mode & 0o777 == 0o700


HOSTILE = [
    # name, bytes, status, code, words the message must hold
    ("scan.pdf", EXECUTABLE, 415, "file.unsupported", "scan.pdf"),
    ("申请表.ofd", plain_zip_bytes(), 415, "file.not_ofd", "OFD.xml"),
    ("locked.pdf", encrypted_pdf_bytes(), 415, "file.encrypted", "加密"),
    ("photo.pdf", png_bytes(), 415, "file.mismatch", "与扩展名 .pdf 不符"),
    ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", 415, "file.unsupported", "passwd"),
    ("a" * 296 + ".pdf", pdf_bytes(), 422, "file.name_too_long", "名称过长"),
    ("empty.pdf", b"", 422, "file.empty", "empty.pdf"),
    ("big.pdf", pdf_bytes("big", pages=40), 413, "file.too_large", "big.pdf"),
]


@pytest.mark.parametrize(
    ("name", "data", "status", "code", "words"),
    HOSTILE,
    ids=[h[3] + "-" + h[0][-12:] for h in HOSTILE],
)
def test_hostile_files_are_refused_in_chinese(
    world: World,
    client_for: Clients,
    name: str,
    data: bytes,
    status: int,
    code: str,
    words: str,
) -> None:
    world.rt.settings.max_file_bytes = 20_000  # the 40-page PDF is over it
    no = register(world, diploma_application())
    r = put(client_for("clerk.cz"), no, "diploma", name, data)
    body = problem_of(r, status, code)
    assert words in body["detail"] and body["field"] == "file"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseFile)) == 0
    assert list(world.rt.blobs.iterate()) == [] and list(world.rt.blobs.temporaries()) == []


def test_a_path_in_the_name_is_only_a_name(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    data = pdf_bytes("tricky")
    r = put(client_for("clerk.cz"), no, "diploma", "../../etc/passwd.pdf", data)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "passwd.pdf"
    r = put(client_for("clerk.cz"), no, "diploma", "..\\..\\boot.ini.pdf", pdf_bytes("win"))
    assert r.json()["name"] == "boot.ini.pdf"
    root = world.rt.blobs.root
    names = {p.name for p in root.rglob("*") if p.is_file()}
    assert names == {hashlib.sha256(data).hexdigest(), r.json()["sha256"]}
    assert not (root.parent / "etc").exists()


def test_unknown_slot_and_the_home_side_cannot_upload(world: World, client_for: Clients) -> None:
    no = register(world, diploma_application())
    body = problem_of(
        put(client_for("clerk.cz"), no, "nope", "a.pdf", pdf_bytes()), 422, "input.invalid"
    )
    assert "nope" in body["detail"] and "diploma" in body["detail"]
    # Before the forward the home department does not see the case at all.
    problem_of(
        put(client_for("reviewer.gz"), no, "diploma", "a.pdf", pdf_bytes()), 404, "case.not_found"
    )
    problem_of(
        put(client_for("clerk.gc"), no, "diploma", "a.pdf", pdf_bytes()), 404, "case.not_found"
    )


def test_the_audit_chain_holds_the_hash_of_every_stored_file(
    world: World, client_for: Clients
) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    for slot in ("id_card", "diploma", "application_form"):
        assert put(clerk, no, slot, f"{slot}.pdf", pdf_bytes(slot)).status_code == 201
    with world.uow() as uow:
        events = uow.session.scalars(
            select(AuditEvent)
            .join(Case, Case.id == AuditEvent.case_id)
            .where(Case.case_no == no, AuditEvent.action == "upload_material")
            .order_by(AuditEvent.seq)
        ).all()
        rows = uow.session.scalars(select(CaseFile).order_by(CaseFile.id)).all()
    assert [e.payload["sha256"] for e in events] == [r.sha256 for r in rows]
    for e in events:
        stored = world.rt.blobs.path(e.payload["sha256"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == e.payload["sha256"]
        assert e.payload["size"] == len(stored) and e.payload["pages"] == 1
    assert verify_chains(world.uow(), no) == []
    history = clerk.get(f"/api/cases/{no}").json()["history"]
    assert [h["action_label"] for h in history[1:]] == ["上传材料"] * 3


def test_forward_needs_a_scan_of_every_required_material(world: World) -> None:
    no = _verified_case(world)
    clerk = world.actors["clerk.cz"]
    with pytest.raises(TransitionError) as refused:
        world.act(Forward, "clerk.cz", no, paper_only=[])
    assert refused.value.code == "forward.scans_missing"
    assert "申请人居民身份证、学历证书（毕业证书）原件及复印件、公证申请表" in refused.value.message
    upload(world.uow(), case_no=no, slot="id_card", filename="id.jpg",
           stream=io.BytesIO(jpeg_bytes()), actor=clerk, now=world.tick())  # fmt: skip
    # id_card has no paper allowance (the guide does not examine its original).
    with pytest.raises(Exception) as not_paper:
        world.act(Forward, "clerk.cz", no, paper_only=["id_card", "diploma", "application_form"])
    assert getattr(not_paper.value, "code", "") == "forward.paper_not_allowed"
    # The diploma and the form: originals the notary office examines, so paper may do.
    view = world.act(Forward, "clerk.cz", no, paper_only=["diploma", "application_form"])
    assert view.state == "forwarded"
    with world.uow() as uow:
        last = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert last.action == "forward"
    assert last.payload["paper_only"] == ["diploma", "application_form"]


def test_download_is_scoped_like_a_case_read(world: World, client_for: Clients) -> None:
    no = _verified_case(world)
    clerk = client_for("clerk.cz")
    world.scan(no)
    sha = put(clerk, no, "diploma", "d.pdf", pdf_bytes("d")).json()["sha256"]
    world.act(Forward, "clerk.cz", no)
    url = f"/api/cases/{no}/materials/{sha}"
    assert client_for("reviewer.gz").get(url).status_code == 200  # sent there
    problem_of(client_for("clerk.gc").get(url), 404, "case.not_found")  # another office
    problem_of(client_for("reviewer.rs").get(url), 404, "case.not_found")  # not sent there
    problem_of(client_for("reviewer.rs").get(f"/api/cases/{no}/materials"), 404, "case.not_found")
    problem_of(clerk.get(f"/api/cases/{no}/materials/{'0' * 64}"), 404, "file.not_found")
    problem_of(clerk.get(f"/api/cases/{no}/materials/{'z' * 64}"), 404, "file.not_found")
    assert clerk.get(f"/api/cases/{no}/materials/..%2f..%2fetc%2fpasswd").status_code == 404
    # After the push the window cannot change what the home department reviews.
    problem_of(put(clerk, no, "diploma", "late.pdf", pdf_bytes("late")), 409, "materials.closed")


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    s = world.rt.settings
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": s.database_url,
        "TONGBAN_AUDIT_KEY": s.audit_key or "",
        "TONGBAN_FILES_DIR": str(s.files_dir),
        "TONGBAN_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [str(TONGBAN), "files", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_files_verify_catches_a_flipped_byte_and_a_deleted_blob(
    world: World, client_for: Clients
) -> None:
    no = register(world, diploma_application())
    clerk = client_for("clerk.cz")
    a = put(clerk, no, "diploma", "a.pdf", pdf_bytes("a")).json()["sha256"]
    b = put(clerk, no, "id_card", "b.png", png_bytes(5, 5)).json()["sha256"]
    c = put(clerk, no, "application_form", "c.pdf", pdf_bytes("c")).json()["sha256"]
    ok = _cli(world, "verify")
    assert ok.returncode == 0, ok.stderr
    blobs = world.rt.blobs
    path = blobs.path(a)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    blobs.delete(b)
    found = {(p.sha256, p.problem) for p in verify(world.uow())}
    assert found == {(a, "altered"), (b, "missing")}
    out = _cli(world, "verify")
    assert out.returncode == 1
    assert f"ALTERED {a}" in out.stdout and f"MISSING {b}" in out.stdout and c not in out.stdout
    assert no in out.stdout and "文件校验失败" in out.stderr


def test_a_crash_between_blob_and_commit_leaves_nothing_dangling(
    world: World, client_for: Clients
) -> None:
    no = register(world, diploma_application())
    clerk = world.actors["clerk.cz"]
    kept = put(client_for("clerk.cz"), no, "diploma", "kept.pdf", pdf_bytes("kept")).json()
    with world.uow() as uow:
        seq_before = uow.session.scalar(select(Case.audit_seq).where(Case.case_no == no))

    class Killed(BaseException):
        """The process dies after the blob is written, before the row commits."""

    def die(sha: str) -> None:
        raise Killed(sha)

    orphan_data = pdf_bytes("orphan")
    with pytest.raises(Killed):
        upload(
            world.uow(), case_no=no, slot="id_card", filename="o.pdf",
            stream=io.BytesIO(orphan_data), actor=clerk, now=world.tick(), after_blob=die,
        )  # fmt: skip
    orphan = hashlib.sha256(orphan_data).hexdigest()
    # A writer killed mid-write leaves only a temporary file, which is never a blob.
    half = world.rt.blobs.root / "tmp" / "deadbeef.part"
    half.write_bytes(orphan_data[:100])
    with world.uow() as uow:
        assert uow.session.scalar(select(Case.audit_seq).where(Case.case_no == no)) == seq_before
        rows = uow.session.scalars(select(CaseFile.sha256)).all()
    assert rows == [kept["sha256"]]  # no row for the orphan: nothing points at a missing file
    assert set(world.rt.blobs.iterate()) == {kept["sha256"], orphan}
    assert list(verify(world.uow())) == []  # every stored blob is whole
    assert verify_chains(world.uow(), no) == []
    # Within the grace period gc keeps the orphan (it may be an upload in flight) ...
    young = gc(world.uow(), grace_seconds=3600)
    assert (young.removed, young.kept_young, young.temporaries) == ([], 1, 0)
    # ... after it, only the unreferenced blob and the leftover go; the referenced one,
    # as old, stays.
    old = time.time() - 7200
    for p in (world.rt.blobs.path(orphan), world.rt.blobs.path(kept["sha256"]), half):
        os.utime(p, (old, old))
    out = _cli(world, "gc", "--grace", "1h")
    assert out.returncode == 0, out.stderr
    assert f"REMOVED {orphan}" in out.stdout and kept["sha256"] not in out.stdout
    assert set(world.rt.blobs.iterate()) == {kept["sha256"]} and not half.exists()
    assert client_for("clerk.cz").get(kept["url"]).status_code == 200
