"""Logs: identity numbers masked wherever they appear; one `case.action` line per action."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from tongban.services.cases import act as act_module
from tongban.services.cases import receive as receive_module
from tongban.services.core.errors import TransitionError
from tongban.services.core.logs import mask_identity_numbers
from tongban.services.core.runtime import Runtime
from tongban.services.demo import person_id
from tongban.workflow.commands import Forward, PassFormalReview, VerifyIdentity
from tongban.workflow.identity import uscc_check_char

from ..world import build_world, diploma_application

ID = person_id("341702", "19900315", "123")
CREDIT = "91341700MA2N00001" + uscc_check_char("91341700MA2N00001")
# A number whose check character is X, to see the lower-case x typed at a window.
ID_X = next(
    n for n in (person_id("110101", "19800101", f"{i:03d}") for i in range(1000)) if n[-1] == "X"
)


def masked(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:]


def mask(**event: Any) -> dict[str, Any]:
    return dict(mask_identity_numbers(None, "info", dict(event)))


def test_sample_numbers_are_what_they_claim() -> None:
    assert len(ID) == len(CREDIT) == len(ID_X) == 18
    assert ID_X.endswith("X") and CREDIT.startswith("91341700")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID, masked(ID)),
        (CREDIT, masked(CREDIT)),
        (ID_X.lower(), masked(ID_X.lower())),
        (f"申请人身份证{ID}已核验", f"申请人身份证{masked(ID)}已核验"),
        (f"{ID},{CREDIT}", f"{masked(ID)},{masked(CREDIT)}"),
        (f"id={ID} company={CREDIT}.", f"id={masked(ID)} company={masked(CREDIT)}."),
    ],
)
def test_identity_numbers_are_masked_in_text(value: str, expected: str) -> None:
    out = mask(event="case.receive", applicant=value)["applicant"]
    assert out == expected
    assert ID[6:14] not in out and CREDIT[6:14] not in out


@pytest.mark.parametrize(
    "value",
    [
        "CZ01-20260310-0001",  # case numbers stay readable
        "GC01-20261231-9999",
        "13800000001",  # phone
        "1100000000001",  # EMS tracking number
        ID[:17],  # too short to be an identity number
        ID + "7",  # 19 digits: part of something longer
        "A" + ID,  # glued to other letters or digits
        "1-01",
        "",
    ],
)
def test_other_values_are_left_alone(value: str) -> None:
    assert mask(event="x", value=value)["value"] == value


def test_every_key_and_nested_values_are_masked() -> None:
    out = mask(
        event=f"verified {ID}",
        payload={"applicant": {"id": ID, "company": CREDIT}, "list": [ID, 3, None]},
        pair=(CREDIT, "CZ01-20260310-0001"),
        count=18,
    )
    assert out["event"] == f"verified {masked(ID)}"
    assert out["payload"] == {
        "applicant": {"id": masked(ID), "company": masked(CREDIT)},
        "list": [masked(ID), 3, None],
    }
    assert list(out["pair"]) == [masked(CREDIT), "CZ01-20260310-0001"]
    assert out["count"] == 18


def test_the_configured_pipeline_masks_and_writes_json_off_a_terminal() -> None:
    """The real processor chain, in a fresh process (logging configuration is global)."""
    script = textwrap.dedent(
        f"""
        import structlog
        from tongban.services.core.logs import configure_logging
        configure_logging()
        structlog.get_logger("t").info(
            "case.action", case_no="CZ01-20260310-0001", user="clerk.cz",
            action="verify_identity", document="{ID}", company="{CREDIT}",
        )
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert ID not in done.stderr and CREDIT not in done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line["event"] == "case.action"
    assert line["case_no"] == "CZ01-20260310-0001"
    assert (line["document"], line["company"]) == (masked(ID), masked(CREDIT))
    assert line["level"] == "info" and "timestamp" in line


@pytest.fixture
def uncached_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`capture_logs` cannot see a logger cached under an earlier configuration, and other
    tests in this process may have run `configure_logging` (which caches on first use):
    start from structlog's defaults with fresh logger proxies for the case modules (the
    receipt and the actions log from their own modules)."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    monkeypatch.setattr(receive_module, "log", structlog.get_logger("tongban.cases"))
    monkeypatch.setattr(act_module, "log", structlog.get_logger("tongban.cases"))
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("uncached_logging")
def test_an_action_logs_exactly_one_case_action_line(sqlite_rt: Runtime) -> None:
    w = build_world(sqlite_rt)
    app = diploma_application()
    with structlog.testing.capture_logs() as receipt:
        no = w.receive(app, "clerk.cz")
    assert [e["event"] for e in receipt] == ["case.receive"]
    assert (receipt[0]["case_no"], receipt[0]["user"]) == (no, "clerk.cz")

    with structlog.testing.capture_logs() as logs:
        w.act(PassFormalReview, "clerk.cz", no)
    assert [e["event"] for e in logs] == ["case.action"]
    entry = logs[0]
    assert (entry["case_no"], entry["user"], entry["action"]) == (
        no,
        "clerk.cz",
        "pass_formal_review",
    )
    assert (entry["from_state"], entry["to_state"]) == ("received", "formally_reviewed")

    with structlog.testing.capture_logs() as logs:
        w.act(VerifyIdentity, "clerk.cz", no, document_number=app.applicant_id_number)
    assert [e["event"] for e in logs] == ["case.action"]
    assert app.applicant_id_number not in repr(logs)  # the document number is not logged raw


@pytest.mark.usefixtures("uncached_logging")
def test_a_refused_action_logs_a_refusal_and_no_action(sqlite_rt: Runtime) -> None:
    w = build_world(sqlite_rt)
    no = w.receive(diploma_application(), "clerk.cz")
    w.scan(no)
    with structlog.testing.capture_logs() as logs, pytest.raises(TransitionError):
        w.act(Forward, "clerk.cz", no)  # before the formal review and the identity check
    assert [e["event"] for e in logs] == ["case.refused"]
    assert (logs[0]["case_no"], logs[0]["user"], logs[0]["action"], logs[0]["code"]) == (
        no,
        "clerk.cz",
        "forward",
        "transition.not_allowed",
    )
