"""GB 11643 citizen ID numbers and GB 32100 unified social credit codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.workflow.identity import (
    InvalidIdentityNumber,
    id_check_char,
    mask,
    uscc_check_char,
    validate_credit_code,
    validate_person_id,
)

# The example number printed in GB 11643-1999 itself, and real-format numbers.
VALID_IDS = ["11010519491231002X", "440524188001010014", "341702199003151236"]
# Published USCC examples (check characters per GB 32100-2015).
VALID_CODES = ["91350100M000100Y43", "91110000600037341L", "9111000071093123XX"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_person_ids(number: str) -> None:
    assert validate_person_id(number) == number


def test_lower_case_x_and_full_width_digits_are_normalised() -> None:
    assert validate_person_id("11010519491231002x") == "11010519491231002X"
    assert validate_person_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("110105194912310021", "第18位应为「X」，实际为「1」"),
        ("11010519491231002", "应为18位，实际为17位"),
        ("11010519491331002X", "不是有效的出生日期"),
        ("99010519491231002X", "不是有效的省级行政区划代码"),
        ("1101051949123100AX", "前17位须为数字"),
    ],
)
def test_invalid_person_ids_say_what_is_wrong(number: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as err:
        validate_person_id(number, field="申请人身份证号码")
    assert fragment in str(err.value)
    assert str(err.value).startswith("申请人身份证号码：")
    assert err.value.code == "input.invalid_id_number"


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y44", "第18位应为「3」"),
        ("91350100M000100Y4", "应为18位"),
        ("91350100M000I00Y43", "除I、O、Z、S、V以外"),
        ("913501A0M000100Y43", "行政区划代码"),
    ],
)
def test_invalid_credit_codes(code: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as err:
        validate_credit_code(code)
    assert fragment in str(err.value)


@given(
    st.from_regex(r"\A(11|34|44)\d{4}(19[5-9]\d|200\d)(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}\Z")
)
def test_exactly_one_check_character_is_accepted(first17: str) -> None:
    accepted = [c for c in "0123456789X" if _ok(first17 + c)]
    assert accepted == [id_check_char(first17)]


def _ok(number: str) -> bool:
    try:
        validate_person_id(number)
    except InvalidIdentityNumber:
        return False
    return True


def test_single_character_change_in_a_credit_code_is_caught() -> None:
    code = VALID_CODES[0]
    for i in range(17):
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if ch == code[i] or (2 <= i < 8 and not ch.isdigit()):
                continue
            changed = code[:i] + ch + code[i + 1 :]
            assert uscc_check_char(changed[:17]) != changed[17]


def test_mask_keeps_first_six_and_last_four() -> None:
    assert mask("11010519491231002X") == "110105********002X"
    assert mask("12345") == "*****"
