"""Accountability (责任追溯): which stage ran late, which side and unit held it, who acted,
how many working days over — per case, in aggregate, and from `tongban report overdue`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tongban.api.cli.main import app
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.accountability import case_accountability, overdue_report
from tongban.workflow.commands import Accept, Forward, PassFormalReview, VerifyIdentity

from ..conftest import T0
from ..deadline_support import do, receive_at, sh
from ..world import World, build_world, card_application, diploma_application

DATA = Path(__file__).parent.parent / "data"
NOW = sh(2026, 3, 13, 12)  # Friday noon


@pytest.fixture
def world(rt: Runtime) -> World:
    w = build_world(rt)
    # A: the Chizhou window forwards on Thursday 15:00; its one day was Wednesday: 1 day late.
    app = diploma_application()
    a = receive_at(w, app, T0)
    do(w, PassFormalReview, "clerk.cz", a, sh(2026, 3, 12, 14))
    do(w, VerifyIdentity, "clerk.cz", a, sh(2026, 3, 12, 14, 30),
       document_number=app.applicant_id_number)  # fmt: skip
    do(w, Forward, "clerk.cz", a, sh(2026, 3, 12, 15))
    do(w, Accept, "reviewer.gz", a, sh(2026, 3, 13, 10))  # in time
    # B: received by the Guichi window and never touched: still running, overdue.
    receive_at(w, card_application(), T0, clerk="clerk.gc")
    # C: forwarded the same day, in time.
    app_c = diploma_application("125")
    cno = receive_at(w, app_c, sh(2026, 3, 12, 9))
    do(w, PassFormalReview, "clerk.cz", cno, sh(2026, 3, 12, 10))
    do(w, VerifyIdentity, "clerk.cz", cno, sh(2026, 3, 12, 10),
       document_number=app_c.applicant_id_number)  # fmt: skip
    do(w, Forward, "clerk.cz", cno, sh(2026, 3, 12, 11))
    return w


def test_overdue_report_names_stage_side_unit_people_and_days(world: World) -> None:
    report = overdue_report(world.uow(), now=NOW)
    assert [(r.case_no, r.stage, r.side, r.unit_code, r.status) for r in report.rows] == [
        ("GC01-20260310-0001", "forward", "window", "GC01", "running"),
        ("CZ01-20260310-0001", "forward", "window", "CZ01", "closed"),
    ]
    b, a = report.rows
    # B: the day of receipt does not count; Wed, Thu and Fri (today, counted whole) are
    # used of the one day allowed: 2 working days over, never a fraction.
    assert (b.used_seconds, b.used_days, b.days_over) == (3 * 86_400, 3, 2)
    assert [(p.name, p.actions) for p in b.people] == [("李强（贵池区专窗）", 1)]
    # A: Wed + Thu = 2 days of 1: 1 over, held by the clerk who did 4 actions and uploaded
    # the 3 scans.
    assert (a.used_days, a.days_over) == (2, 1)
    assert [(p.name, p.role, p.unit, p.actions) for p in a.people] == [
        ("王芳（市中心专窗）", "clerk", "CZ01", 7)
    ]
    assert [(t.key, t.count, t.days_over) for t in report.by_unit] == [
        ("GC01", 1, 2),
        ("CZ01", 1, 1),
    ]
    assert [(t.key, t.count) for t in report.by_stage] == [("forward", 2)]
    assert [t.label for t in report.by_person] == [
        "李强（贵池区专窗）（GC01）",
        "王芳（市中心专窗）（CZ01）",
    ]


def test_region_filter(world: World) -> None:
    city = overdue_report(world.uow(), now=NOW, region="341700")
    district = overdue_report(world.uow(), now=NOW, region="341702")
    hangzhou = overdue_report(world.uow(), now=NOW, region="330100")
    assert len(city.rows) == 2
    assert [r.unit_code for r in district.rows] == ["GC01"]
    assert hangzhou.rows == ()


def test_one_case_every_stage(world: World) -> None:
    one = case_accountability(world.uow(), "CZ01-20260310-0001", now=NOW)
    assert [(s.stage, s.late, s.status) for s in one.stages] == [
        ("forward", True, "closed"),
        ("accept", False, "closed"),
        ("mail", False, "running"),
    ]
    accept = one.stages[1]
    assert (accept.side_label, accept.unit_code) == ("办理地部门", "GZ330106")
    assert [p.name for p in accept.people] == ["赵敏（西湖公证处）"]
    assert one.late == (one.stages[0],)


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # Each command builds its runtime from the environment when it runs.
    monkeypatch.setenv("TONGBAN_DATABASE_URL", world.rt.settings.database_url)
    monkeypatch.setenv("TONGBAN_AUDIT_KEY", world.rt.key.secret.hex())
    return CliRunner()


def test_report_overdue_command(cli_env: CliRunner) -> None:
    now = NOW.isoformat()
    text = cli_env.invoke(app, ["report", "overdue", "--now", now])
    assert text.exit_code == 0, text.output
    for heading in (
        "超期责任追溯报告",
        "一、超期环节明细",
        "二、按责任单位汇总",
        "四、按经办人员汇总",
    ):
        assert heading in text.stdout
    assert "CZ01-20260310-0001  收件推送  收件窗口" in text.stdout
    assert "时限 1 个工作日，已用 2 个工作日，超期 1 个工作日" in text.stdout
    assert "经办人员：王芳（市中心专窗）×7" in text.stdout
    js = cli_env.invoke(app, ["report", "overdue", "--now", now, "--format", "json", "--region",
                              "341702"])  # fmt: skip
    assert js.exit_code == 0, js.output
    data = json.loads(js.stdout)
    assert [r["case_no"] for r in data["late_stages"]] == ["GC01-20260310-0001"]
    assert data["late_stages"][0]["days_over"] == 2
    one = cli_env.invoke(app, ["report", "overdue", "--now", now, "--case", "CZ01-20260310-0001"])
    assert one.exit_code == 0 and "原件寄递" in one.stdout
    missing = cli_env.invoke(app, ["report", "overdue", "--case", "NOPE"])
    assert missing.exit_code == 2 and "case.not_found" in missing.output


def test_calendar_commands(cli_env: CliRunner, tmp_path: Path) -> None:
    before = cli_env.invoke(app, ["calendar", "show", "2027", "--list"])
    assert before.exit_code == 0 and "仅按周末推算" in before.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("year,2027\n2027-01-01,holiday,元旦\n2027-01-01,holiday,元旦\n", "utf-8")
    refused = cli_env.invoke(app, ["calendar", "import", str(bad)])
    assert refused.exit_code == 2
    assert f"{bad}:3: 2027-01-01 重复：第 2 行已列出。" in refused.output
    ok = cli_env.invoke(app, ["calendar", "import", str(DATA / "calendar_2027.yaml")])
    assert ok.exit_code == 0 and "节假日 10 天，调休上班 1 天" in ok.stdout
    after = cli_env.invoke(app, ["calendar", "show", "2027"])
    assert after.exit_code == 0
    assert "来源：管理员导入" in after.stdout
    assert "2027-02-20 周六 调休上班 春节调休  [管理员导入]" in after.stdout
    assert "二月" in after.stdout and " 班" in after.stdout
    package = cli_env.invoke(app, ["calendar", "show", "2026", "--list"])
    assert "2026-10-01 周四 放假 国庆节  [chinese-calendar 软件包]" in package.stdout


def test_calendar_due_command(cli_env: CliRunner) -> None:
    ok = cli_env.invoke(app, ["calendar", "due", "2026-03-10T10:00+08:00", "3"])
    assert ok.exit_code == 0, ok.output
    first, second = ok.stdout.splitlines()[:2]
    assert first == "2026-03-14T00:00:00+08:00"
    assert second == "3 个工作日，自 2026-03-11 起算，至 2026-03-13（周五）24:00 止。"
    assert "日历未确认" not in ok.output
    # Past the calendar the system knows (no 2032 data): the answer is flagged.
    guess = cli_env.invoke(app, ["calendar", "due", "2031-12-30T10:00+08:00", "5"])
    assert guess.exit_code == 0
    assert guess.stdout.splitlines()[0] == "2032-01-07T00:00:00+08:00"
    assert "日历未确认：2031-12-31" in guess.output
    naive = cli_env.invoke(app, ["calendar", "due", "2026-03-10T10:00", "3"])
    assert naive.exit_code == 2 and "时区" in naive.output
    huge = cli_env.invoke(app, ["calendar", "due", "2026-03-10T10:00+08:00", "99999"])
    assert huge.exit_code == 2 and "工作日数" in huge.output
