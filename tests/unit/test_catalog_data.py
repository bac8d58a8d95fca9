"""Checks on docs/catalog.yaml, the hand-reviewed copy of the national "跨省通办" catalog.

The catalog was typed from 附件1 of 池政办秘〔2021〕13号 (tests/data/seed_chizhou_2021.txt), whose
text comes from a PDF with rows broken across page breaks. These tests tie every catalog row
back to the printed text of *its own* table row, so a dropped continuation line, a merge with a
neighbouring row, an invented unit or a truncated name/scenario makes them fail.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

SEED = Path(__file__).parents[1] / "data" / "seed_chizhou_2021.txt"

EXPECTED_COUNTS = {1: 58, 2: 74, 3: 8}
KEYS = [
    "code",
    "batch",
    "seq",
    "name",
    "scenario",
    "lead",
    "cooperating",
    "lead_missing",
    "deadline",
]

# Every unit named anywhere in the annex table (after joining names split by spaces/line breaks).
KNOWN_UNITS = {
    "人行池州市中心支行",
    "市中级人民法院",
    "市交通运输局",
    "市人力资源社会保障局",
    "市公安局",
    "市公积金管理中心",
    "市医保局",
    "市卫生健康委",
    "市司法局",
    "市商务局",
    "市市场监管局",
    "市教育和体育局",
    "市林业局",
    "市残联",
    "市民政局",
    "市生态环境局",
    "市税务局",
    "市自然资源和规划局",
    "市邮政管理局",
}

# Rows that print no lead unit at all.
LEAD_MISSING = {"1-21", "1-22", "1-23", "1-49"}

# Rows whose name / scenario / deadline is split over a page break in the seed, so the joined
# text is not one contiguous run of the seed. Everything else must appear verbatim.
BROKEN_NAME = {"1-09", "1-23", "2-65"}
BROKEN_SCENARIO = {"1-09", "1-23", "1-55", "2-07", "2-21", "2-50", "2-65"}
BROKEN_DEADLINE = {"3-03"}

# Printed text of a row's block that is deliberately NOT carried into the catalog
# (see the header of docs/catalog.yaml). Everything else in the block must be used.
#   1-09: "保险关系转移" is printed twice across the page break (end of the first line, followed
#         by "。", and start of the continuation line); one copy is the page-break duplicate.
#         The row uses the first line's "…保险关系转移" and the continuation's "接续（含职业
#         年金），…", so what is left over reads "。" + "保险关系转移".
#   2-21: stray "会保障局" fragment in the lead column of the continuation line.
#   3-07: the wrapper around the cooperating unit printed inside the lead cell.
EXPECTED_LEFTOVER = {
    "1-09": "。保险关系转移",
    "2-21": "会保障局",
    "3-07": "（配合单位：）",
}

SEP = "\x1f"  # stands for a cell / line boundary in the seed
USED = "\x00"  # marks seed characters already accounted for


def _punct(s: str) -> str:
    """Half-width comma/parentheses -> the full-width forms the catalog uses."""
    return s.replace(",", "，").replace("(", "（").replace(")", "）")


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


@cache
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@cache
def seed_squashed() -> str:
    """The whole seed with whitespace, tabs and line breaks removed, punctuation normalised."""
    return _punct(_squash(seed_text()))


@cache
def load_catalog() -> list[dict[str, Any]]:
    path = files("tongban.docs") / "catalog.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@cache
def seed_blocks() -> dict[tuple[int, int], str]:
    """(batch, seq) -> the raw seed lines of that table row, continuation lines included.

    A block runs from the line starting with "<seq>\\t" up to the next such line (or the end of
    the batch's table). It is only used to localise text; the catalog itself was typed by hand.
    """
    lines = seed_text().split("\n")

    def find(prefix: str) -> int:
        hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        assert len(hits) == 1, prefix
        return hits[0]

    bounds = [
        find("一、第一批"),
        find("二、2021年底前"),
        find("三、2021年以后"),
        find("注：根据企业"),
    ]
    blocks: dict[tuple[int, int], str] = {}
    for batch in (1, 2, 3):
        body = lines[bounds[batch - 1] + 1 : bounds[batch]]
        starts = [i for i, line in enumerate(body) if re.match(r"\d+\t", line)]
        for k, i in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(body)
            seq = int(body[i].split("\t", 1)[0])
            blocks[(batch, seq)] = "\n".join(body[i:end])
    return blocks


def _cells(raw: str) -> str:
    """Seed text, punctuation normalised, spaces removed, cell/line breaks kept as SEP."""
    return _punct(re.sub(r"[ \u3000]+", "", re.sub(r"[\t\n]+", SEP, raw)))


def _consume(remaining: str, text: str) -> tuple[str, int]:
    """Account for `text` in `remaining` piece by piece (greedy longest runs within one cell).

    Returns the block with the used characters blanked out and the number of pieces needed.
    Fails if some part of `text` is not printed in the block at all.
    """
    i, pieces = 0, 0
    while i < len(text):
        for j in range(len(text), i, -1):
            pos = remaining.find(text[i:j])
            if pos >= 0:
                remaining = remaining[:pos] + USED * (j - i) + remaining[pos + (j - i) :]
                break
        else:
            raise AssertionError(f"{text[i:]!r} is not printed in this row of the seed")
        pieces += 1
        i = j
    return remaining, pieces


def rows_by_code() -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in load_catalog()}


# --------------------------------------------------------------------------- shape and order


def test_counts_per_batch_and_total() -> None:
    rows = load_catalog()
    assert Counter(r["batch"] for r in rows) == EXPECTED_COUNTS
    assert len(rows) == 140


def test_keys_and_types() -> None:
    for r in load_catalog():
        assert list(r) == KEYS, r.get("code")
        assert isinstance(r["batch"], int) and isinstance(r["seq"], int)
        for key in ("code", "name", "scenario"):
            assert isinstance(r[key], str) and r[key], (r["code"], key)
        for key in ("lead", "cooperating"):
            assert isinstance(r[key], list), (r["code"], key)
            assert all(isinstance(u, str) and u for u in r[key]), (r["code"], key)
        assert isinstance(r["lead_missing"], bool)


def test_batch_seq_unique_contiguous_and_in_order() -> None:
    rows = load_catalog()
    keys = [(r["batch"], r["seq"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys), "rows must be in batch, seq order"
    for batch, n in EXPECTED_COUNTS.items():
        assert [s for b, s in keys if b == batch] == list(range(1, n + 1)), batch


def test_codes_unique_and_match_batch_seq() -> None:
    rows = load_catalog()
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    for r in rows:
        assert r["code"] == f"{r['batch']}-{r['seq']:02d}"


def test_catalog_rows_are_exactly_the_seed_rows() -> None:
    assert set(seed_blocks()) == {(r["batch"], r["seq"]) for r in load_catalog()}


# --------------------------------------------------------------------------- text hygiene


def test_text_is_normalised() -> None:
    for r in load_catalog():
        fields = [r["name"], r["scenario"], *r["lead"], *r["cooperating"]]
        if r["deadline"] is not None:
            fields.append(r["deadline"])
        for text in fields:
            assert not re.search(r"\s", text), (r["code"], text)
            assert not re.search(r"[,()]", text), (r["code"], text)
        for text in (r["name"], r["scenario"]):
            assert text.count("（") == text.count("）"), (r["code"], text)


def test_scenarios_are_complete_sentences() -> None:
    """A scenario cut at a page break ends mid-sentence ("…社会保障卡，", "…管理机构申请")."""
    for r in load_catalog():
        assert r["scenario"].endswith("。"), r["code"]
        assert r["scenario"].count("。") == 1, r["code"]


# --------------------------------------------------------------------------- units


def test_units_are_printed_names() -> None:
    for r in load_catalog():
        for unit in r["lead"] + r["cooperating"]:
            assert unit in seed_squashed(), (r["code"], unit)


def test_units_belong_to_the_known_set() -> None:
    units = {u for r in load_catalog() for u in r["lead"] + r["cooperating"]}
    assert units == KNOWN_UNITS
    for unit in units:
        assert unit.startswith("市") or unit == "人行池州市中心支行", unit


def test_no_unit_is_a_fragment_of_another() -> None:
    """Catches a unit split at a page break ("市人力资源社" + "会保障局") kept as two units."""
    for a in KNOWN_UNITS:
        for b in KNOWN_UNITS - {a}:
            assert not b.startswith(a) and not b.endswith(a), (a, b)


def test_no_duplicate_units_in_a_row() -> None:
    for r in load_catalog():
        units = r["lead"] + r["cooperating"]
        assert len(units) == len(set(units)), r["code"]


def test_lead_missing_exactly_when_lead_empty() -> None:
    for r in load_catalog():
        assert r["lead_missing"] is (r["lead"] == []), r["code"]
    assert {r["code"] for r in load_catalog() if r["lead_missing"]} == LEAD_MISSING


# --------------------------------------------------------------------------- against the seed


def test_unbroken_text_appears_verbatim_in_one_cell_of_its_row() -> None:
    """Names/scenarios/deadlines not split by a page break are single cells of their own row.

    (Checked against the row's own block: some scenarios, e.g. 1-23 and 2-29, are printed
    identically in another row.)
    """
    not_verbatim: dict[str, set[str]] = {"name": set(), "scenario": set(), "deadline": set()}
    for r in load_catalog():
        cells = SEP + _cells(seed_blocks()[(r["batch"], r["seq"])]) + SEP
        for key in not_verbatim:
            if r[key] is not None and f"{SEP}{r[key]}{SEP}" not in cells:
                not_verbatim[key].add(r["code"])
    assert not_verbatim["name"] == BROKEN_NAME
    assert not_verbatim["scenario"] == BROKEN_SCENARIO
    assert not_verbatim["deadline"] == BROKEN_DEADLINE


def test_every_name_and_scenario_is_printed_in_the_squashed_seed() -> None:
    """With whitespace removed, unbroken text is a run of the seed (a merged row is not)."""
    squashed = seed_squashed()
    for r in load_catalog():
        if r["code"] not in BROKEN_NAME:
            assert r["name"] in squashed, r["code"]
        if r["code"] not in BROKEN_SCENARIO:
            assert r["scenario"] in squashed, r["code"]


ALL_CODES = [f"{b}-{s:02d}" for b, n in EXPECTED_COUNTS.items() for s in range(1, n + 1)]


@pytest.mark.parametrize("code", ALL_CODES)
def test_row_accounts_for_exactly_its_printed_block(code: str) -> None:
    """Every character of the row's printed block is used by this row, and nothing else is.

    Text from a neighbouring row is not in this block (merge -> fails); a dropped continuation
    line leaves printed text unused (drop -> fails); an invented unit is not printed here.
    """
    r = rows_by_code()[code]
    block = _cells(seed_blocks()[(r["batch"], r["seq"])])
    assert block.startswith(f"{r['seq']}{SEP}")
    remaining = USED * len(str(r["seq"])) + block[len(str(r["seq"])) :]

    limits = {
        "name": 2 if code in BROKEN_NAME else 1,
        "scenario": 2 if code in BROKEN_SCENARIO else 1,
        "deadline": 2 if code in BROKEN_DEADLINE else 1,
    }
    for key in ("name", "scenario", "deadline"):
        if r[key] is None:
            continue
        remaining, pieces = _consume(remaining, r[key])
        assert pieces <= limits[key], (code, key, pieces)
    for unit in r["lead"] + r["cooperating"]:
        remaining, pieces = _consume(remaining, unit)
        assert pieces <= 2, (code, unit)  # a unit may be split over two lines at most
    leftover = remaining.replace(USED, "").replace(SEP, "").replace("、", "")
    assert leftover == EXPECTED_LEFTOVER.get(code, ""), (code, leftover)


def _column(code: str, index: int) -> str:
    r = rows_by_code()[code]
    raw = seed_blocks()[(r["batch"], r["seq"])]
    cells = [line.split("\t") for line in raw.split("\n") if line.strip()]
    return SEP.join(_cells(c[index]) for c in cells if len(c) > index)


# Printed text of a unit column that is not a unit of the row (see EXPECTED_LEFTOVER).
EXPECTED_LEAD_COLUMN_LEFTOVER = {"2-21": "会保障局", "3-07": "（配合单位：）"}


@pytest.mark.parametrize("code", ALL_CODES)
def test_units_come_from_their_own_column(code: str) -> None:
    """Lead units are printed in the 牵头单位 column, cooperating ones in 配合单位.

    Batch 3 has no 配合单位 column: its only cooperating unit (3-07) is printed inside the
    lead cell as "（配合单位：市医保局）".
    """
    r = rows_by_code()[code]
    lead_col = _column(code, 3)
    for unit in r["lead"]:
        lead_col, _ = _consume(lead_col, unit)
    if r["batch"] == 3:
        for unit in r["cooperating"]:
            lead_col, _ = _consume(lead_col, unit)
    else:
        coop_col = _column(code, 4)
        for unit in r["cooperating"]:
            coop_col, _ = _consume(coop_col, unit)
        assert coop_col.replace(USED, "").replace(SEP, "").replace("、", "") == "", code
    leftover = lead_col.replace(USED, "").replace(SEP, "").replace("、", "")
    assert leftover == EXPECTED_LEAD_COLUMN_LEFTOVER.get(code, ""), (code, leftover)


def test_name_not_in_neighbouring_scenarios() -> None:
    rows = load_catalog()
    for i, r in enumerate(rows):
        for j in (i - 1, i + 1):
            if 0 <= j < len(rows) and rows[j]["batch"] == r["batch"]:
                assert r["name"] not in rows[j]["scenario"], (r["code"], rows[j]["code"])


def test_scenario_does_not_start_with_next_rows_text() -> None:
    """A page-break merge glues the next row's opening onto this row's text (or vice versa)."""
    rows = load_catalog()
    for prev, nxt in pairwise(rows):
        if prev["batch"] != nxt["batch"]:
            continue
        assert not prev["scenario"].endswith(nxt["name"]), (prev["code"], nxt["code"])
        assert not nxt["scenario"].startswith(prev["scenario"]), (prev["code"], nxt["code"])
        assert not prev["scenario"].startswith(nxt["scenario"]), (prev["code"], nxt["code"])


def test_names_unique() -> None:
    names = [r["name"] for r in load_catalog()]
    assert len(set(names)) == len(names)


# --------------------------------------------------------------------------- batch specifics


def test_deadline_only_in_batch_3() -> None:
    for r in load_catalog():
        if r["batch"] == 3:
            assert isinstance(r["deadline"], str) and r["deadline"], r["code"]
        else:
            assert r["deadline"] is None, r["code"]


def test_batch_3_row_7_cooperating_from_lead_cell() -> None:
    r = rows_by_code()["3-07"]
    assert r["lead"] == ["市人力资源社会保障局"]
    assert r["cooperating"] == ["市医保局"]


def test_batch_3_has_no_cooperating_column() -> None:
    assert [r["code"] for r in load_catalog() if r["batch"] == 3 and r["cooperating"]] == ["3-07"]


def test_repaired_rows_spot_checks() -> None:
    by = rows_by_code()
    assert by["1-09"]["name"] == "机关事业单位基本养老保险关系转移接续（含职业年金）"
    assert by["1-09"]["scenario"] == (
        "申请人可向转入地申请，转入地与转出地协同办理机关事业单位基本养老保险关系转移接续"
        "（含职业年金），申请人不再需要到转出地办理（不符合转出条件的除外）。"
    )
    assert by["1-23"]["name"] == "不动产抵押登记（省会城市及计划单列市）"
    assert by["1-23"]["scenario"] == "申请人可异地网上申请不动产抵押登记，不受不动产登记地限制。"
    assert by["1-55"]["cooperating"] == ["市人力资源社会保障局"]
    assert by["2-03"]["cooperating"] == ["市教育和体育局", "市人力资源社会保障局"]
    assert by["2-21"]["lead"] == ["市人力资源社会保障局"]
    assert by["2-21"]["scenario"] == "申请人可异地申领社会保障卡，不受发卡地限制。"
    assert by["2-50"]["scenario"].endswith("（西藏的完成时间可适当延后）。")
    assert by["2-65"]["name"] == "经营邮政通信业务审批"
    assert by["3-03"]["deadline"].endswith(
        "力争2025年底前在县级以上婚姻登记机关全面实行全国“跨省通办”"
    )
    assert by["2-58"]["lead"] == ["市人力资源社会保障局", "市医保局"]
