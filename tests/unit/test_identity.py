"""ID documents: GB 11643 numbers (居民身份证, 港澳台居民居住证, the 2023 永居证), the 2017
永居证, the two 通行证, passports and GB 32100 unified social credit codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.workflow.identity import (
    DOCUMENT_LABELS,
    DocumentType,
    InvalidIdentityNumber,
    id_check_char,
    mask,
    uscc_check_char,
    validate_credit_code,
    validate_document,
    validate_person_id,
)

D = DocumentType


def gb11643(first17: str) -> str:
    return first17 + id_check_char(first17)


def wrong_check(first17: str) -> str:
    return first17 + ("1" if id_check_char(first17) != "1" else "2")


# The example number printed in GB 11643-1999 itself, and real-format numbers.
VALID_IDS = ["11010519491231002X", "440524188001010014", "341702199003151236"]
# Published USCC examples (check characters per GB 32100-2015).
VALID_CODES = ["91350100M000100Y43", "91110000600037341L", "9111000071093123XX"]

VALID: list[tuple[DocumentType, str]] = [
    *((D.RESIDENT_ID, n) for n in VALID_IDS),
    (D.RESIDENCE_PERMIT, gb11643("81000019900101123")),  # 香港
    (D.RESIDENCE_PERMIT, gb11643("82000019851231002")),  # 澳门
    (D.RESIDENCE_PERMIT, gb11643("83000020000229001")),  # 台湾, a leap day
    (D.FOREIGN_PERMANENT, "USA310085061501"),  # 2017: 3 letters, 12 digits
    (D.FOREIGN_PERMANENT, gb11643("93184019850615001")),  # 2023: 9, GB 11643
    (D.HK_MACAO_PASS, "H12345678"),
    (D.HK_MACAO_PASS, "M87654321"),
    (D.HK_MACAO_PASS, "H1234567890"),  # the older 10-digit card
    (D.TAIWAN_PASS, "12345678"),
    (D.PASSPORT, "E12345678"),
    (D.PASSPORT, "EA1234567"),
    (D.PASSPORT, "K1234567"),
    *((D.CREDIT_CODE, c) for c in VALID_CODES),
]


@pytest.mark.parametrize(("kind", "number"), VALID)
def test_valid_numbers_of_every_document(kind: DocumentType, number: str) -> None:
    assert validate_document(kind, number, "证件号码") == number


@pytest.mark.parametrize(("kind", "number"), VALID)
def test_full_width_input_is_the_same_number(kind: DocumentType, number: str) -> None:
    # What an IME or a card reader in full-width mode types: NFKC makes it ASCII.
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert validate_document(kind, f" {wide}\u3000", "证件号码") == number


def test_lower_case_x_is_stored_as_upper_case() -> None:
    assert validate_person_id("11010519491231002x") == "11010519491231002X"
    assert validate_person_id("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert validate_document(D.PASSPORT, "e12345678", "护照号码") == "E12345678"


@pytest.mark.parametrize(
    ("kind", "number", "fragment"),
    [
        # Arabic-Indic and Devanagari digits are digits, but not the ones a check digit uses.
        (D.RESIDENT_ID, "1101051949123100٢X", "第17位「٢」不是半角阿拉伯数字，应为数字0–9"),
        (D.TAIWAN_PASS, "1234567८", "第8位「८」不是半角阿拉伯数字"),
        (D.RESIDENT_ID, "110105194912310021", "第18位校验码应为「X」，实际为「1」"),
        (D.RESIDENT_ID, "11010519491231002", "应为18位，实际为17位"),
        (D.RESIDENT_ID, "11010519491331002X", "第7至14位「19491331」不是有效的出生日期"),
        (D.RESIDENT_ID, "00010519491231002X", "「00」不是有效的省级行政区划代码"),
        (D.RESIDENT_ID, "1101051949123100AX", "第17位「A」不符合要求，应为数字0–9"),
        (D.RESIDENT_ID, gb11643("81000019900101123"), "请将证件类型选为「港澳台居民居住证」"),
        (D.RESIDENT_ID, gb11643("93184019850615001"), "外国人永久居留身份证"),
        (D.RESIDENCE_PERMIT, "11010519491231002X", "第1至6位应为810000（香港）、820000（澳门）"),
        (D.RESIDENCE_PERMIT, wrong_check("81000019900101123"), "第18位校验码应为"),
        (D.FOREIGN_PERMANENT, "US1310085061501", "第3位「1」不符合要求，应为英文字母A–Z"),
        (D.FOREIGN_PERMANENT, "USA31008506150", "应为15或18位，实际为14位"),
        (D.FOREIGN_PERMANENT, gb11643("13184019850615001"), "以9开头，第1位实际为「1」"),
        (D.FOREIGN_PERMANENT, wrong_check("93184019850615001"), "第18位校验码应为"),
        (D.HK_MACAO_PASS, "A12345678", "第1位「A」不符合要求，应为字母H（香港）或M（澳门）"),
        (D.HK_MACAO_PASS, "H1234567", "应为9或11位，实际为8位"),
        (D.TAIWAN_PASS, "1234567", "应为8位，实际为7位"),
        (D.PASSPORT, "E123", "应为5至17位，实际为4位"),
        (D.PASSPORT, "ABCDEFGH", "护照号码应含有数字"),
        (D.PASSPORT, "E1234-5678", "第6位「-」不符合要求，应为数字或英文字母"),
        (D.CREDIT_CODE, "91350100M000100Y44", "第18位校验码应为「3」"),
        (D.CREDIT_CODE, "91350100M000100Y4", "应为18位"),
        (D.CREDIT_CODE, "91350100M000I00Y43", "第13位「I」不符合要求，应为数字或除I、O"),
        (D.CREDIT_CODE, "913501A0M000100Y43", "第7位「A」不符合要求，应为数字0–9（第3至8位"),
        (D.RESIDENT_ID, "  ", "（居民身份证）：请填写号码"),
    ],
)  # fmt: skip
def test_invalid_numbers_say_which_character_and_what_was_expected(
    kind: DocumentType, number: str, fragment: str
) -> None:
    with pytest.raises(InvalidIdentityNumber) as err:
        validate_document(kind, number, "申请人证件号码")
    message = str(err.value)
    assert fragment in message
    assert message.startswith("申请人证件号码")
    assert err.value.code == "input.invalid_id_number"


def test_the_message_names_the_document_type() -> None:
    with pytest.raises(InvalidIdentityNumber) as err:
        validate_document(D.TAIWAN_PASS, "1234567", "代理人证件号码")
    assert str(err.value).startswith(f"代理人证件号码（{DOCUMENT_LABELS[D.TAIWAN_PASS]}）：")


@given(
    st.from_regex(
        r"\A(11|34|44)[0-9]{4}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z"
    )
)
def test_exactly_one_check_character_is_accepted(first17: str) -> None:
    accepted = [c for c in "0123456789X" if _ok(D.RESIDENT_ID, first17 + c)]
    assert accepted == [id_check_char(first17)]


@given(
    st.sampled_from(["81", "82", "83"]),
    st.from_regex(r"\A(19[5-9][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z"),
)
def test_permit_numbers_take_exactly_one_check_character(area: str, rest: str) -> None:
    first17 = f"{area}0000{rest}"
    accepted = [c for c in "0123456789X" if _ok(D.RESIDENCE_PERMIT, first17 + c)]
    assert accepted == [id_check_char(first17)]
    # ... and the same number is refused as a 居民身份证: it is the other document.
    assert not _ok(D.RESIDENT_ID, first17 + id_check_char(first17))


@given(st.text(max_size=24))
def test_any_text_is_accepted_normalised_or_refused_with_a_reason(text: str) -> None:
    for kind in DocumentType:
        try:
            number = validate_document(kind, text, "证件号码")
        except InvalidIdentityNumber as err:
            assert str(err).startswith("证件号码（")
        else:
            assert number.isascii() and number == number.upper() and " " not in number


def _ok(kind: DocumentType, number: str) -> bool:
    try:
        validate_document(kind, number, "证件号码")
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
    assert validate_credit_code(code) == code


def test_mask_keeps_first_six_and_last_four() -> None:
    assert mask("11010519491231002X") == "110105********002X"
    assert mask("12345") == "*****"
