"""Catalog and guides in the database, on SQLite and PostgreSQL: idempotent reloads, guide
versions that cases keep, the originals step the guide asks for, export, search and the API."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tongban.api.app import create_app
from tongban.api.cli.main import app as cli
from tongban.models import Case, GuideVersion, Item
from tongban.services.cases.receive import receive as receive_case
from tongban.services.cases.views import CaseView
from tongban.services.catalog.items import (
    EXPORT_FIELDS,
    ItemPage,
    catalog_csv,
    export_catalog,
    item_detail,
    load_catalog,
    search_items,
)
from tongban.services.core.errors import InvalidInput, NotFound, TransitionError
from tongban.services.core.runtime import Runtime
from tongban.services.guides.store import config_of, guide_folder, load_guides
from tongban.workflow.commands import (
    Accept,
    Application,
    Approve,
    CaseCommand,
    Forward,
    MailOriginals,
    PassFormalReview,
    ReceiveOriginals,
    VerifyIdentity,
)

from ..world import World, build_world, card_application, diploma_application

SEED = Path(__file__).parents[1] / "data" / "seed_chizhou_2021.txt"


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def act(w: World, command: type[CaseCommand], who: str, no: str, **kw: object) -> CaseView:
    return w.act(command, who, no, **kw)


def receive(w: World, app: Application, clerk: str = "clerk.cz") -> CaseView:
    return receive_case(w.uow(), app, actor=w.actors[clerk], now=w.tick())


def guide_versions(w: World) -> int:
    with w.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(GuideVersion)) or 0


def to_acceptance(w: World, no: str, app: Application, clerk: str, reviewer: str) -> None:
    act(w, PassFormalReview, clerk, no)
    act(w, VerifyIdentity, clerk, no, document_number=app.applicant_id_number)
    act(w, Forward, clerk, no)
    act(w, Accept, reviewer, no)


def case_links(w: World, no: str) -> tuple[int, int]:
    """(item_id, guide_version_id) of a case."""
    with w.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        return case.item_id, case.guide_version_id


def item_ids(rt: Runtime) -> dict[str, int]:
    with rt.uow() as uow:
        return {i.code: i.id for i in uow.session.scalars(select(Item))}


# ---- reloading ------------------------------------------------------------------------------


def test_reloading_the_catalog_is_idempotent_and_keeps_cases_linked(world: World) -> None:
    ids = item_ids(world.rt)
    no = receive(world, diploma_application()).case_no

    report = load_catalog(world.uow())

    assert (report.added, report.updated, report.unchanged) == (0, 0, 140)
    assert item_ids(world.rt) == ids
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Item)) == 140
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        assert uow.session.get_one(Item, case.item_id).code == "1-01"
    # A row changed in the database (as if the file had changed) is updated in place.
    with world.uow() as uow:
        uow.session.scalars(select(Item).where(Item.code == "1-01")).one().name = "旧名称"
        uow.commit()
    report = load_catalog(world.uow())
    assert (report.added, report.updated, report.unchanged) == (0, 1, 139)
    assert item_ids(world.rt) == ids
    assert item_detail(world.uow(), "1-01").name == "学历公证"


def test_reloading_unchanged_guides_adds_no_version(world: World) -> None:
    assert guide_versions(world) == 140
    assert load_guides(world.uow(), now=world.tick()) == 0
    assert guide_versions(world) == 140


# ---- what the guide configures, and which version a case keeps -------------------------------


def write_guide(folder: Path, code: str, change: Callable[[str], str]) -> None:
    folder.mkdir(exist_ok=True)
    text = (guide_folder() / f"{code}.md").read_text(encoding="utf-8")
    (folder / f"{code}.md").write_text(change(text), encoding="utf-8")


def test_the_guide_decides_the_originals_step_and_a_case_keeps_its_version(
    world: World, tmp_path: Path
) -> None:
    app_v1 = diploma_application("101")
    v1 = receive(world, app_v1)
    assert v1.originals_required  # 1-01 v1: the diploma and the signed form travel

    # The lead unit publishes a version where no original has to be examined.
    write_guide(
        tmp_path / "g",
        "1-01",
        lambda t: t.replace("version: 1", "version: 2").replace(
            "original: true", "original: false"
        ),
    )
    assert load_guides(world.uow(), now=world.tick(), folder=tmp_path / "g") == 1
    assert load_guides(world.uow(), now=world.tick(), folder=tmp_path / "g") == 0  # unchanged

    app_v2 = diploma_application("102")
    v2 = receive(world, app_v2)
    assert not v2.originals_required
    (item1, guide1), (item2, guide2) = case_links(world, v1.case_no), case_links(world, v2.case_no)
    assert item1 == item2 and guide1 != guide2
    with world.uow() as uow:
        versions = {
            g.id: g.version
            for g in uow.session.scalars(select(GuideVersion).where(GuideVersion.item_id == item1))
        }
        assert versions == {guide1: 1, guide2: 2}
        spec = config_of(uow, guide1).material("diploma")
        assert spec is not None and spec.original

    # The old case still needs its originals: no decision before they arrive.
    to_acceptance(world, v1.case_no, app_v1, "clerk.cz", "reviewer.gz")
    with pytest.raises(TransitionError) as missing:
        act(world, Approve, "reviewer.gz", v1.case_no)
    assert missing.value.code == "decision.originals_missing"
    act(world, MailOriginals, "clerk.cz", v1.case_no, carrier="EMS", tracking_no="EA1")
    act(world, ReceiveOriginals, "reviewer.gz", v1.case_no)
    assert act(world, Approve, "reviewer.gz", v1.case_no).state == "approved"

    # The new case skips the mailing step: nothing to mail, decide at once.
    to_acceptance(world, v2.case_no, app_v2, "clerk.cz", "reviewer.gz")
    with pytest.raises(TransitionError) as not_required:
        act(world, MailOriginals, "clerk.cz", v2.case_no, carrier="EMS", tracking_no="EA2")
    assert not_required.value.code == "originals.not_required"
    assert act(world, Approve, "reviewer.gz", v2.case_no).state == "approved"


FORM = "    name: 《社会保障卡申领登记表》（申请人签名）\n    required: true"


def test_a_guide_without_originals_skips_the_step_and_one_with_them_requires_it(
    world: World, tmp_path: Path
) -> None:
    # 2-21 asks for no original; a version asking for the signed form's original needs mailing.
    app = card_application("201")
    before = receive(world, app, "clerk.gc")
    assert not before.originals_required
    write_guide(
        tmp_path / "g",
        "2-21",
        lambda t: t.replace(FORM + "\n    original: false", FORM + "\n    original: true"),
    )
    assert load_guides(world.uow(), now=world.tick(), folder=tmp_path / "g") == 1
    after = receive(world, card_application("202"), "clerk.gc")
    assert after.originals_required
    to_acceptance(world, after.case_no, card_application("202"), "clerk.gc", "reviewer.rs")
    with pytest.raises(TransitionError) as err:
        act(world, Approve, "reviewer.rs", after.case_no)
    assert err.value.code == "decision.originals_missing"


def test_an_invalid_guide_is_refused_and_nothing_is_loaded(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "g"
    write_guide(folder, "2-61", lambda t: t.replace("version: 1", "version: 2"))
    write_guide(folder, "1-01", lambda t: t.replace("  decide: 15", "  decide: 0"))
    line = (folder / "1-01.md").read_text(encoding="utf-8").split("\n").index("  decide: 0") + 1
    with pytest.raises(InvalidInput) as err:
        load_guides(world.uow(), now=world.tick(), folder=folder)
    assert err.value.code == "guide.invalid"
    assert f"1-01.md:{line}: time_limits.decide" in err.value.message
    assert guide_versions(world) == 140


# ---- export ---------------------------------------------------------------------------------


def test_export_has_every_item_with_printed_unit_names(world: World) -> None:
    rows = export_catalog(world.uow())
    assert len(rows) == 140
    assert all(tuple(r) == EXPORT_FIELDS for r in rows)
    assert [(r["batch"], r["seq"]) for r in rows][:2] == [(1, 1), (1, 2)]
    seed = re.sub(r"\s+", "", SEED.read_text(encoding="utf-8"))
    units = {u for r in rows for u in r["lead"] + r["cooperating"]}
    assert len(units) == 19
    assert all(u in seed for u in units), sorted(u for u in units if u not in seed)
    assert sorted(r["code"] for r in rows if r["guide_status"] == "complete") == [
        "1-01",
        "2-21",
        "2-61",
    ]
    assert sum(r["guide_status"] == "default" for r in rows) == 137
    by_code = {r["code"]: r for r in rows}
    assert by_code["1-49"]["lead"] == [] and by_code["1-49"]["lead_missing"] is True
    assert by_code["3-03"]["deadline"].endswith("全面实行全国“跨省通办”")

    text = catalog_csv(rows)
    assert text.startswith("\ufeffcode,batch,seq,name,")
    parsed = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(parsed) == 140
    two_58 = next(p for p in parsed if p["code"] == "2-58")
    assert two_58["lead"] == "市人力资源社会保障局、市医保局"
    assert two_58["cooperating"] == "市公安局、市民政局、市税务局"
    assert next(p for p in parsed if p["code"] == "1-21")["lead_missing"] == "true"


def test_export_cli_reads_the_database(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command sets up process-wide logging onto the runner's stderr, closed afterwards.
    monkeypatch.setattr("tongban.api.cli.common.configure_logging", lambda **_: None)
    # Each command reads its settings from the environment afresh (no cache to clear).
    monkeypatch.setenv("TONGBAN_DATABASE_URL", world.rt.settings.database_url)
    monkeypatch.setenv("TONGBAN_AUDIT_KEY", world.rt.settings.audit_key or "")
    runner = CliRunner()
    out = tmp_path / "catalog.csv"
    result = runner.invoke(cli, ["catalog", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith("\ufeffcode,".encode())
    result = runner.invoke(cli, ["catalog", "export", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data) == 140
    assert data[0]["lead"] == ["市司法局"] and data[0]["name"] == "学历公证"


def test_export_of_an_empty_database_says_to_init(rt: Runtime) -> None:
    with pytest.raises(InvalidInput) as err:
        export_catalog(rt.uow())
    assert err.value.code == "catalog.empty"


# ---- search and detail ----------------------------------------------------------------------


def codes(page: object) -> list[str]:
    return [i.code for i in page.items]  # type: ignore[attr-defined]


def test_search_by_name_unit_batch_and_mode(world: World) -> None:
    def search(**filters: Any) -> ItemPage:
        return search_items(world.uow(), **filters)

    notary = search(q="公证", limit=200)
    assert codes(notary) == ["1-01", "1-02", "1-03", "2-12"]
    assert codes(search(q="社会保障卡 补领")) == ["2-23"]
    justice = search(unit="司法", limit=200)
    assert "2-28" in codes(justice)  # 市司法局 as a cooperating unit
    assert all(any("司法" in u for u in i.lead + i.cooperating) for i in justice.items)
    assert search(batch=3, limit=200).total == 8
    online = codes(search(mode="online", limit=200))
    assert {"1-01", "2-21", "2-61", "1-21", "1-31"} <= set(online)
    assert "2-03" not in online and "2-01" not in online
    assert codes(search(mode="joint", batch=2, unit="公安")) == [
        "2-03",
        "2-04",
        "2-05",
        "2-06",
        "2-07",
        "2-60",  # 基本医疗保险关系转移接续: 市公安局 cooperates
    ]
    everything = search(limit=200)
    assert everything.total == 140
    page = search(limit=5, offset=5)
    assert (page.total, codes(page)) == (140, codes(everything)[5:10])
    assert search(q="不存在的事项").total == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch": 4}, "batch"),
        ({"mode": "courier"}, "mode"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "字" * 101}, "q"),
    ],
)
def test_search_refuses_bad_filters(world: World, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        search_items(world.uow(), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_item_detail_carries_the_latest_guide(world: World, tmp_path: Path) -> None:
    detail = item_detail(world.uow(), "1-01")
    assert detail.guide is not None
    assert (detail.guide.version, detail.guide.status) == (1, "complete")
    assert detail.guide.defaults_notice is None
    assert [m["code"] for m in detail.guide.config["materials"]][:2] == ["id_card", "diploma"]
    default = item_detail(world.uow(), "1-22")
    assert default.guide is not None and default.guide_status == "default"
    assert "事项清单未列明牵头单位" in (default.guide.defaults_notice or "")
    with pytest.raises(NotFound) as err:
        item_detail(world.uow(), "9-99")
    assert err.value.code == "item.not_found"
    write_guide(tmp_path / "g", "1-01", lambda t: t.replace("version: 1", "version: 2"))
    load_guides(world.uow(), now=world.tick(), folder=tmp_path / "g")
    detail = item_detail(world.uow(), "1-01")
    assert detail.guide is not None and detail.guide.version == 2


def test_the_items_api(world: World) -> None:
    client = TestClient(create_app(world.rt, clock=lambda: world.clock))
    listed = client.get("/api/items", params={"q": "公证", "batch": 1})
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 3 and [i["code"] for i in body["items"]] == ["1-01", "1-02", "1-03"]
    assert body["items"][0]["lead"] == ["市司法局"]

    detail = client.get("/api/items/2-61")
    assert detail.status_code == 200
    assert detail.json()["guide"]["config"]["time_limits"]["decide"] == 2
    assert detail.json()["guide"]["body"].lstrip().startswith("# 异地就医结算备案")

    missing = client.get("/api/items/9-99")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "item.not_found"

    bad = client.get("/api/items", params={"batch": 4})
    assert bad.status_code == 422
    assert client.get("/api/items", params={"mode": "courier"}).status_code == 422
