"""A real browser (Debian's chromium, driven by playwright) against a real uvicorn server on
127.0.0.1: a clerk signs in, opens a case, takes an action and sees the new state.

Needs `apt-get install -y chromium fonts-noto-cjk` (see .ci/run); playwright's own browser
downloads are not used.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from pypdf import PdfReader

from tongban.workflow.commands import PassFormalReview, VerifyIdentity

from ..conftest import CHROMIUM
from ..scans import pdf_bytes, png_bytes
from ..world import World, diploma_application
from .conftest import register

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("TONGBAN_SCREENSHOTS", "/tmp"))


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """uvicorn serving the app in a thread, on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    # conftest leaves this test out where Chromium or a Chinese font is missing (without the
    # font the workbench renders as empty boxes, though the DOM text would still pass).
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_clerk_takes_an_action_in_the_browser(
    world: World, server: str, browser: Browser, request: pytest.FixtureRequest
) -> None:
    no = register(world, diploma_application())
    register(world, diploma_application("222"))
    world.tick(31)  # Wed 17:00: the first case is past two thirds of its one day (Wed)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{server}/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "clerk.cz")
    page.fill("input[name=password]", "tongban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert page.locator("table.cases").is_visible()
    assert page.locator(f"tr:has(a:text('{no}')) .badge.yellow").inner_text() == "预警"
    db = request.node.callspec.params["db_url"]
    page.screenshot(path=str(SHOTS / f"tongban-inbox-{db}.png"), full_page=True)

    page.click(f"a:text('{no}')")
    page.wait_for_url(f"{server}/cases/{no}")
    assert page.locator("#case-state").inner_text() == "已收件"
    page.click("form[data-action=pass_formal_review] button")
    page.wait_for_url(f"{server}/cases/{no}?done=pass_formal_review")
    assert page.locator("#case-state").inner_text() == "形式审查通过"
    assert "已完成「形式审查通过」" in page.locator(".alert.ok").inner_text()

    # A refused action shows the service's Chinese message on the same page.
    other = diploma_application("999").applicant_id_number  # valid, but not the applicant's
    page.fill("form[data-action=verify_identity] input[name=document_number]", other)
    page.click("form[data-action=verify_identity] button")
    assert "不一致" in page.locator("#action-error").inner_text()
    page.fill(
        "form[data-action=verify_identity] input[name=document_number]",
        diploma_application().applicant_id_number,
    )
    page.click("form[data-action=verify_identity] button")
    page.wait_for_url(f"{server}/cases/{no}?done=verify_identity")
    assert page.locator("#case-state").inner_text() == "身份核验通过"
    assert page.locator("form[data-action=forward]").is_visible()
    page.screenshot(path=str(SHOTS / f"tongban-case-{db}.png"), full_page=True)
    page.close()


def _sign_in(page: Page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "tongban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def test_the_reviewer_sees_the_scans_of_a_forwarded_case(
    world: World, server: str, browser: Browser, tmp_path: Path
) -> None:
    """The clerk uploads a scan in the workbench; the home reviewer opens the forwarded case
    and sees the scanned PDF (its first page, served inline as application/pdf) and the
    photo, rendered in the page."""
    app = diploma_application()
    no = register(world, app)
    world.act(PassFormalReview, "clerk.cz", no)
    world.act(VerifyIdentity, "clerk.cz", no, document_number=app.applicant_id_number)
    clerk = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    _sign_in(clerk, server, "clerk.cz")
    clerk.goto(f"{server}/cases/{no}")
    scan = tmp_path / "学历证书.pdf"
    scan.write_bytes(pdf_bytes(f"DIPLOMA {no}", pages=2))
    clerk.select_option("#upload-form select[name=slot]", "diploma")
    clerk.set_input_files("#upload-form input[name=file]", str(scan))
    clerk.click("#upload-form button")
    clerk.wait_for_url(f"{server}/cases/{no}?done=upload_material")
    assert "已完成「上传材料」" in clerk.locator(".alert.ok").inner_text()
    photo = tmp_path / "身份证.png"
    photo.write_bytes(png_bytes(64, 40))
    clerk.select_option("#upload-form select[name=slot]", "id_card")
    clerk.set_input_files("#upload-form input[name=file]", str(photo))
    clerk.click("#upload-form button")
    clerk.wait_for_url(f"{server}/cases/{no}?done=upload_material")
    # A required material still without a scan: the push is refused, naming it.
    clerk.click("form[data-action=forward] button")
    assert "公证申请表" in clerk.locator("#action-error").inner_text()
    clerk.check("form[data-action=forward] input[name=paper_only][value=application_form]")
    clerk.click("form[data-action=forward] button")
    clerk.wait_for_url(f"{server}/cases/{no}?done=forward")
    clerk.close()

    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="zh-CN")
    _sign_in(page, server, "reviewer.gz")
    page.goto(f"{server}/cases/{no}")
    assert page.locator("#case-state").inner_text() == "已推送"
    frame = page.locator("figure.scan[data-slot=diploma] iframe.scan-pdf")
    frame.wait_for()
    src = frame.get_attribute("src") or ""
    assert src.startswith(f"/api/cases/{no}/materials/")
    got = page.request.get(server + src.split("#")[0])  # with the reviewer's session cookie
    assert got.status == 200
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("inline")
    assert got.headers["x-content-type-options"] == "nosniff"
    first = PdfReader(io.BytesIO(got.body())).pages[0].extract_text()
    assert f"DIPLOMA {no} page 1" in first
    image = page.locator("figure.scan[data-slot=id_card] img.scan-image")
    image.wait_for()
    page.wait_for_function(
        "document.querySelector('figure.scan[data-slot=id_card] img').naturalWidth > 0"
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 40]
    page.screenshot(path=str(SHOTS / "tongban-scans.png"), full_page=True)
    page.close()
