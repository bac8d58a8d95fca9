"""What a guide configures: missing materials, which originals travel, stage limits."""

from __future__ import annotations

import pytest

from tongban.workflow.actions import ACTIONS_BY_NAME, label_of
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.guide import missing_materials, originals_to_mail, parse_config
from tongban.workflow.stages import Stage

FRONT = {
    "item": "1-01",
    "version": 3,
    "status": "complete",
    "time_limits": {"forward": 1, "accept": 2, "decide": 15},
    "results": ["mail", "window"],
    "materials": [
        {"code": "id_card", "name": "身份证", "original": True, "e_licence": True},
        {"code": "diploma", "name": "毕业证书", "original": True},
        {"code": "photo", "name": "照片"},
        {"code": "chsi", "name": "学信网报告", "required": False},
    ],
}


def test_parse_config_reads_limits_with_defaults_for_the_unsaid() -> None:
    config = parse_config(FRONT)
    assert config.limits[Stage.DECIDE] == 15
    assert config.limits[Stage.DELIVER] == 1  # default
    assert config.limits[Stage.MAIL] == 1  # default
    assert config.results == (DeliveryMethod.MAIL, DeliveryMethod.WINDOW)


def test_a_guide_without_a_promised_time_is_refused() -> None:
    with pytest.raises(ValueError, match="承诺时限"):
        parse_config({**FRONT, "time_limits": {"forward": 1}})


def test_missing_materials_lists_required_ones_in_guide_order() -> None:
    config = parse_config(FRONT)
    assert missing_materials(config, ["photo"]) == ("身份证", "毕业证书")
    assert missing_materials(config, ["id_card", "diploma", "photo"]) == ()


def test_a_power_of_attorney_is_missing_only_when_an_agent_appears() -> None:
    letter = {"code": "poa", "name": "授权委托书", "agent": True}
    config = parse_config({**FRONT, "materials": [*FRONT["materials"], letter]})  # type: ignore[list-item]
    have = ["id_card", "diploma", "photo"]
    assert missing_materials(config, have) == ()
    assert missing_materials(config, have, agent=True) == ("授权委托书",)
    assert missing_materials(config, [*have, "poa"], agent=True) == ()


@pytest.mark.parametrize(
    ("decision", "labels"),
    [
        (None, ("准予办理", "不予办理")),
        ("general", ("准予办理", "不予办理")),
        ("licence", ("准予许可", "不予许可")),
        ({"approve": "出具公证书", "refuse": "不予办理公证"}, ("出具公证书", "不予办理公证")),
    ],
)
def test_the_decision_is_named_by_the_guide(decision: object, labels: tuple[str, str]) -> None:
    front = {**FRONT, "decision": decision} if decision is not None else FRONT
    config = parse_config(front)
    assert (config.decision_label(True), config.decision_label(False)) == labels
    approve, refuse = ACTIONS_BY_NAME["approve"], ACTIONS_BY_NAME["refuse"]
    assert (label_of(approve, config), label_of(refuse, config)) == labels
    assert label_of(ACTIONS_BY_NAME["accept"], config) == "受理"
    assert label_of(approve, None) == "准予办理"


def test_originals_travel_unless_an_electronic_licence_verified_them() -> None:
    config = parse_config(FRONT)
    assert originals_to_mail(config, {"id_card": False, "diploma": False}) == ("id_card", "diploma")
    assert originals_to_mail(config, {"id_card": True, "diploma": False}) == ("diploma",)
    # The diploma may not be replaced by a licence, whatever the clerk ticked.
    assert originals_to_mail(config, {"diploma": True}) == ("diploma",)
    assert originals_to_mail(config, {"photo": False, "chsi": False}) == ()
