"""Identity numbers: GB 11643 citizen ID numbers and GB 32100 unified social credit codes."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum


class ApplicantKind(StrEnum):
    PERSON = "person"  # 自然人: 居民身份证 (GB 11643)
    COMPANY = "company"  # 法人: 统一社会信用代码 (GB 32100)


APPLICANT_KIND_LABELS: dict[ApplicantKind, str] = {
    ApplicantKind.PERSON: "自然人",
    ApplicantKind.COMPANY: "法人",
}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# First two digits: the province-level codes of GB/T 2260 (plus 71 台湾, 81 香港, 82 澳门).
_PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
        "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
        "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    }
)  # fmt: skip

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"^[{_USCC_CHARS}]{{18}}$")


class InvalidIdentityNumber(ValueError):
    code = "input.invalid_id_number"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}：{message}")


def _normalise(value: str) -> str:
    # Clerks type from cards: full-width digits, spaces and a lower-case x all occur.
    half = value.translate({0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: 0x58, 0xFF58: 0x58})
    return re.sub(r"\s+", "", half).upper()


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_person_id(value: str, field: str = "身份证号码") -> str:
    """Return the normalised 18-digit number, or raise naming the field and what is wrong."""
    number = _normalise(value)
    if len(number) != 18:
        raise InvalidIdentityNumber(field, f"应为18位，实际为{len(number)}位。")
    if not _ID_SHAPE.match(number):
        raise InvalidIdentityNumber(field, "前17位须为数字，第18位为数字或X。")
    if number[:2] not in _PROVINCES:
        raise InvalidIdentityNumber(field, f"前两位「{number[:2]}」不是有效的省级行政区划代码。")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentityNumber(
            field, f"第7至14位「{number[6:14]}」不是有效的出生日期。"
        ) from None
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdentityNumber(
            field, f"校验码错误：第18位应为「{expected}」，实际为「{number[17]}」，请核对号码。"
        )
    return number


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def validate_credit_code(value: str, field: str = "统一社会信用代码") -> str:
    """Return the normalised 18-character code, or raise naming the field and what is wrong."""
    code = _normalise(value)
    if len(code) != 18:
        raise InvalidIdentityNumber(field, f"应为18位，实际为{len(code)}位。")
    if not _USCC_SHAPE.match(code):
        raise InvalidIdentityNumber(field, "只能由数字和除I、O、Z、S、V以外的大写英文字母组成。")
    if not code[2:8].isdigit():
        raise InvalidIdentityNumber(field, f"第3至8位「{code[2:8]}」应为行政区划代码（6位数字）。")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentityNumber(
            field, f"校验码错误：第18位应为「{expected}」，实际为「{code[17]}」，请核对代码。"
        )
    return code


def validate_applicant_id(kind: ApplicantKind, value: str, field: str) -> str:
    """The normalised number of an applicant of `kind`: an ID number or a credit code."""
    if kind is ApplicantKind.PERSON:
        return validate_person_id(value, field=f"{field}（身份证号码）")
    return validate_credit_code(value, field=f"{field}（统一社会信用代码）")


def mask(number: str) -> str:
    """First 6 and last 4 visible at most (an 18-character number keeps 10 visible)."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
