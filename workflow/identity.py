"""Identity documents shown at a window, each with its format and check digit.

Numbers arrive typed from cards, read by a scanner or pasted: they are NFKC-normalised
(full-width digits and letters become ASCII), spaces dropped and letters upper-cased, so a
lower-case x is stored as X. A digit that is still not ASCII after that (Arabic-Indic,
Devanagari...) is refused, naming its position: the check digits are defined on 0–9 only.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ApplicantKind(StrEnum):
    PERSON = "person"  # 自然人
    COMPANY = "company"  # 法人或其他组织: 统一社会信用代码 (GB 32100)


APPLICANT_KIND_LABELS: dict[ApplicantKind, str] = {
    ApplicantKind.PERSON: "自然人",
    ApplicantKind.COMPANY: "法人",
}


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证 (GB 11643)
    RESIDENCE_PERMIT = "residence_permit"  # 港澳台居民居住证 (GB 11643, 81/82/830000)
    FOREIGN_PERMANENT = "foreign_permanent"  # 外国人永久居留身份证 (2017: 15; 2023: 18)
    HK_MACAO_PASS = "hk_macao_pass"  # 港澳居民来往内地通行证
    TAIWAN_PASS = "taiwan_pass"  # 台湾居民来往大陆通行证
    PASSPORT = "passport"  # 护照
    CREDIT_CODE = "credit_code"  # 统一社会信用代码 (GB 32100)


DOCUMENT_LABELS: dict[DocumentType, str] = {
    DocumentType.RESIDENT_ID: "居民身份证",
    DocumentType.RESIDENCE_PERMIT: "港澳台居民居住证",
    DocumentType.FOREIGN_PERMANENT: "外国人永久居留身份证",
    DocumentType.HK_MACAO_PASS: "港澳居民来往内地通行证",
    DocumentType.TAIWAN_PASS: "台湾居民来往大陆通行证",
    DocumentType.PASSPORT: "护照",
    DocumentType.CREDIT_CODE: "统一社会信用代码",
}

# What a natural person may show; a legal person is identified by its credit code.
PERSONAL_DOCUMENTS: tuple[DocumentType, ...] = tuple(
    t for t in DocumentType if t is not DocumentType.CREDIT_CODE
)


class InvalidIdentityNumber(ValueError):
    code = "input.invalid_id_number"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}：{message}")


# --- characters, positions ----------------------------------------------------------------


@dataclass(frozen=True)
class _Chars:
    allowed: str
    expected: str  # what the position must hold, in the words of the message


_DIGIT = _Chars(string.digits, "数字0–9")
_DIGIT_OR_X = _Chars(string.digits + "X", "数字0–9或X")
_LETTER = _Chars(string.ascii_uppercase, "英文字母A–Z")
_HM = _Chars("HM", "字母H（香港）或M（澳门）")
_ALNUM = _Chars(string.digits + string.ascii_uppercase, "数字或英文字母")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
_USCC = _Chars(_USCC_CHARS, "数字或除I、O、Z、S、V以外的大写英文字母")
_USCC_AREA = _Chars(string.digits, "数字0–9（第3至8位是登记管理机关的行政区划代码）")


def normalise(value: str) -> str:
    """The number as stored: NFKC, no whitespace, letters upper-case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def _bad_char(field: str, position: int, char: str, chars: _Chars) -> InvalidIdentityNumber:
    if char.isdigit() and not char.isascii():  # say so, rather than "not a digit"
        what = f"「{char}」不是半角阿拉伯数字"
    else:
        what = f"「{char}」不符合要求"
    return InvalidIdentityNumber(field, f"第{position}位{what}，应为{chars.expected}。")


def _check_layout(number: str, layout: tuple[_Chars, ...], field: str) -> None:
    """Every character is of its position's kind; the first that is not is named."""
    for i, (char, chars) in enumerate(zip(number, layout, strict=True), start=1):
        if char not in chars.allowed:
            raise _bad_char(field, i, char, chars)


def _check_length(number: str, lengths: tuple[int, ...], field: str) -> None:
    if len(number) in lengths:
        return
    want = "或".join(str(n) for n in lengths)
    raise InvalidIdentityNumber(field, f"应为{want}位，实际为{len(number)}位。")


# --- GB 11643: the 18-digit numbers -----------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_ID_LAYOUT = (_DIGIT,) * 17 + (_DIGIT_OR_X,)
# First two digits of a 居民身份证: the province-level codes of GB/T 2260.
_PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
        "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
        "53", "54", "61", "62", "63", "64", "65",
    }
)  # fmt: skip
_PERMIT_AREAS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _gb11643(number: str, field: str) -> None:
    """Length, characters, birth date (7th–14th) and check digit of an 18-digit number."""
    _check_length(number, (18,), field)
    _check_layout(number, _ID_LAYOUT, field)
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentityNumber(
            field, f"第7至14位「{number[6:14]}」不是有效的出生日期（年月日，如19900101）。"
        ) from None
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdentityNumber(
            field, f"第18位校验码应为「{expected}」，实际为「{number[17]}」，请逐位核对号码。"
        )


def _resident_id(number: str, field: str) -> None:
    _check_length(number, (18,), field)
    _check_layout(number, _ID_LAYOUT, field)
    if number[:6] in _PERMIT_AREAS:
        raise InvalidIdentityNumber(
            field,
            f"以{number[:6]}开头的是{_PERMIT_AREAS[number[:6]]}居民的港澳台居民居住证号码，"
            "请将证件类型选为「港澳台居民居住证」。",
        )
    if number[0] == "9":
        raise InvalidIdentityNumber(
            field, "以9开头的是外国人永久居留身份证号码，请将证件类型选为「外国人永久居留身份证」。"
        )
    if number[:2] not in _PROVINCES:
        raise InvalidIdentityNumber(field, f"第1至2位「{number[:2]}」不是有效的省级行政区划代码。")
    _gb11643(number, field)


def _residence_permit(number: str, field: str) -> None:
    _check_length(number, (18,), field)
    _check_layout(number, _ID_LAYOUT, field)
    if number[:6] not in _PERMIT_AREAS:
        raise InvalidIdentityNumber(
            field,
            f"第1至6位应为810000（香港）、820000（澳门）或830000（台湾），实际为「{number[:6]}」。",
        )
    _gb11643(number, field)


_FOREIGN_2017 = (_LETTER,) * 3 + (_DIGIT,) * 12


def _foreign_permanent(number: str, field: str) -> None:
    """The 2017 card: 3 letters of nationality and 12 digits (its check digit's rule is not
    published, so the format only). The 2023 card: 18 digits beginning with 9, GB 11643."""
    _check_length(number, (15, 18), field)
    if len(number) == 15:
        _check_layout(number, _FOREIGN_2017, field)
        return
    _check_layout(number, _ID_LAYOUT, field)
    if number[0] != "9":
        raise InvalidIdentityNumber(
            field, f"18位的永久居留身份证号码以9开头，第1位实际为「{number[0]}」。"
        )
    _gb11643(number, field)


def _hk_macao_pass(number: str, field: str) -> None:
    """H (Hong Kong) or M (Macao) and 8 digits; older cards carry 10 digits."""
    _check_length(number, (9, 11), field)
    _check_layout(number, (_HM,) + (_DIGIT,) * (len(number) - 1), field)


def _taiwan_pass(number: str, field: str) -> None:
    """8 digits (the card issued since 2015)."""
    _check_length(number, (8,), field)
    _check_layout(number, (_DIGIT,) * 8, field)


def _passport(number: str, field: str) -> None:
    """Format only: 5 to 17 letters and digits, at least one digit (ICAO 9303 allows 9 in
    the machine-readable zone; national numbers vary)."""
    if not 5 <= len(number) <= 17:
        raise InvalidIdentityNumber(field, f"应为5至17位，实际为{len(number)}位。")
    _check_layout(number, (_ALNUM,) * len(number), field)
    if not any(c.isdigit() for c in number):
        raise InvalidIdentityNumber(field, "护照号码应含有数字，请核对。")


# --- GB 32100 ------------------------------------------------------------------------------

_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _credit_code(code: str, field: str) -> None:
    _check_length(code, (18,), field)
    _check_layout(code, (_USCC,) * 2 + (_USCC_AREA,) * 6 + (_USCC,) * 10, field)
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentityNumber(
            field, f"第18位校验码应为「{expected}」，实际为「{code[17]}」，请逐位核对代码。"
        )


_CHECKS: dict[DocumentType, Callable[[str, str], None]] = {
    DocumentType.RESIDENT_ID: _resident_id,
    DocumentType.RESIDENCE_PERMIT: _residence_permit,
    DocumentType.FOREIGN_PERMANENT: _foreign_permanent,
    DocumentType.HK_MACAO_PASS: _hk_macao_pass,
    DocumentType.TAIWAN_PASS: _taiwan_pass,
    DocumentType.PASSPORT: _passport,
    DocumentType.CREDIT_CODE: _credit_code,
}


def validate_document(kind: DocumentType, value: str, field: str) -> str:
    """The number as stored, or InvalidIdentityNumber naming `field` (a Chinese label), the
    position of the first wrong character and what was expected there."""
    number = normalise(value)
    labelled = f"{field}（{DOCUMENT_LABELS[kind]}）"
    if not number:
        raise InvalidIdentityNumber(labelled, "请填写号码。")
    _CHECKS[kind](number, labelled)
    return number


_BORN_IN_NUMBER = (
    DocumentType.RESIDENT_ID,
    DocumentType.RESIDENCE_PERMIT,
    DocumentType.FOREIGN_PERMANENT,
)


def birth_date(kind: DocumentType, number: str) -> date | None:
    """The birth date a validated 18-digit GB 11643 number carries (7th–14th digits)."""
    if kind not in _BORN_IN_NUMBER or len(number) != 18:
        return None
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def validate_person_id(value: str, field: str = "身份证号码") -> str:
    return validate_document(DocumentType.RESIDENT_ID, value, field)


def validate_credit_code(value: str, field: str = "统一社会信用代码") -> str:
    return validate_document(DocumentType.CREDIT_CODE, value, field)


def mask(number: str) -> str:
    """First 6 and last 4 visible at most (an 18-character number keeps 10 visible)."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
