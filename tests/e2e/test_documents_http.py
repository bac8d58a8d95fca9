"""Documents over HTTP: the sealed PDF to those in scope, 404 outside it, 409 when the case
has no such document yet, and the print links on the workbench case page."""

from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader

from tongban.services.core.config import Settings
from tongban.services.documents.seal import load_seal, make_demo_p12, verify_pdf

from ..world import World, diploma_application
from .conftest import Http


@pytest.fixture
def sealed(world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("seal") / "seal.p12"
    path.write_bytes(make_demo_p12())
    world.rt.seal = load_seal(Settings(seal_p12=path))
    return world


def test_download_in_scope_and_not_found_outside(sealed: World, http: Http) -> None:
    case_no = sealed.receive(diploma_application())
    http.sign_in("clerk.cz")
    r = http.get(f"/api/cases/{case_no}/documents/receipt")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f"{case_no}-SJ-001.pdf" in r.headers["content-disposition"]
    assert verify_pdf(r.content, sealed.rt.seal).ok
    text = "".join(PdfReader(io.BytesIO(r.content)).pages[0].extract_text().split())
    assert case_no in text and "学历公证" in text

    bare = http.get(f"/api/cases/{case_no}/documents/history")
    assert bare.status_code == 200 and len(bare.headers["x-content-sha256"]) == 64

    for outsider in ("clerk.hz", "reviewer.gz", "reviewer.rs"):
        http.sign_in(outsider)
        r = http.get(f"/api/cases/{case_no}/documents/receipt")
        assert r.status_code == 404
        assert r.json()["code"] == "case.not_found"
        assert r.headers["content-type"].startswith("application/problem+json")
    http.sign_in("supervisor.cz")  # the region that received it reads it
    again = http.get(f"/api/cases/{case_no}/documents/receipt")
    assert again.status_code == 200
    digest = hashlib.sha256(again.content).hexdigest()
    assert digest != again.headers["x-content-sha256"]  # sealed bytes, unsigned hash


def test_a_document_the_case_does_not_have_is_a_clear_conflict(sealed: World, http: Http) -> None:
    case_no = sealed.receive(diploma_application())
    http.sign_in("clerk.cz")
    r = http.get(f"/api/cases/{case_no}/documents/decision-notice")
    assert r.status_code == 409
    assert r.json()["code"] == "document.not_applicable" and "审批决定" in r.json()["detail"]
    r = http.get(f"/api/cases/{case_no}/documents/invoice")
    assert r.status_code == 422 and "文书种类" in r.json()["detail"]


def test_case_page_has_a_print_link_per_applicable_document(sealed: World, http: Http) -> None:
    case_no = sealed.receive(diploma_application())
    http.sign_in("clerk.cz")
    page = http.get(f"/cases/{case_no}")
    assert page.status_code == 200
    assert f'href="/api/cases/{case_no}/documents/receipt"' in page.text
    assert f'href="/api/cases/{case_no}/documents/history"' in page.text
    assert "documents/decision-notice" not in page.text
    assert "打印收件回执" in page.text
