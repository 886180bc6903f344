"""Citizen ID numbers of GB 11643-1999 (公民身份号码).

An ID number has 18 characters: a six-digit address code (GB/T 2260), the
birth date as ``YYYYMMDD``, a three-digit sequence code whose last digit is odd
for men and even for women, and an ISO 7064 MOD 11-2 check character (a digit
or ``X`` for ten). The residence permits of Hong Kong, Macao and Taiwan
residents (港澳台居民居住证, since 2018) follow the same rules with the
address codes 810000, 820000 and 830000.

Only the first two digits of the address code are checked: counties are
renamed and merged, and a number keeps the code it was issued with.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final, NewType

from sso.errors import IdNumberRejection, InvalidIdNumber

__all__ = [
    "Gender",
    "IdNumber",
    "birth_date_of",
    "check_digit_for",
    "gender_of",
    "make_id_number",
    "mask_id_number",
    "normalise_id_number",
]

IdNumber = NewType("IdNumber", str)
"""An ID number that passed every check, with an upper-case ``X``."""

ID_NUMBER_LENGTH: Final = 18
SEQUENCE_MAX: Final = 999
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
BEIJING: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Beijing time; China has kept UTC+8 without daylight saving since 1991."""

PROVINCE_CODES: Final = frozenset(
    {
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
        "71",  # Taiwan, in GB/T 2260.
        *("81", "82", "83"),  # Hong Kong, Macao; 83: residence permits of Taiwan residents.
    }
)
"""The province-level address codes an ID number can start with."""

_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_WEIGHTS: Final = tuple(pow(2, 17 - position, 11) for position in range(17))
_CHECK_CHARACTERS: Final = "10X98765432"
"""The check character for each value of the weighted sum modulo 11."""
_MASK: Final = "*" * 8
_ID_NUMBER_SHAPED: Final = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", re.ASCII)


class Gender(StrEnum):
    """The gender recorded in an ID number, in the words of the registration form."""

    MALE = "男"
    FEMALE = "女"


def normalise_id_number(text: str, *, today: date | None = None) -> IdNumber:
    """Return the ID number in ``text``, stripped of surrounding whitespace, with an upper-case ``X``.

    ``today`` (default: today in Beijing time) bounds the birth date.
    Raises ``InvalidIdNumber`` whose ``reason`` names the first check that failed:
    length, format, region, birth date, then check digit.
    """
    candidate = text.strip()
    if candidate.endswith("x"):
        candidate = candidate[:-1] + "X"
    if len(candidate) != ID_NUMBER_LENGTH:
        raise InvalidIdNumber(IdNumberRejection.LENGTH)
    if _SHAPE.fullmatch(candidate) is None:
        raise InvalidIdNumber(IdNumberRejection.FORMAT)
    if candidate[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber(IdNumberRejection.REGION)
    if not _is_plausible_birth_date(candidate[6:14], _today_in_beijing() if today is None else today):
        raise InvalidIdNumber(IdNumberRejection.BIRTH_DATE)
    if check_digit_for(candidate[:17]) != candidate[17]:
        raise InvalidIdNumber(IdNumberRejection.CHECK_DIGIT)
    return IdNumber(candidate)


def check_digit_for(first_17_digits: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) for 17 digits.

    Raises ``ValueError`` unless given exactly 17 ASCII digits.
    """
    if len(first_17_digits) != 17 or not (first_17_digits.isascii() and first_17_digits.isdigit()):
        raise ValueError("a check digit is computed over exactly 17 ASCII digits")
    weighted_sum = sum(int(digit) * weight for digit, weight in zip(first_17_digits, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[weighted_sum % 11]


def mask_id_number(id_number: IdNumber) -> str:
    """Return the ID number with its first 6 and last 4 characters kept and the 8 between as ``*``."""
    return id_number[:6] + _MASK + id_number[-4:]


def mask_id_numbers_in(text: str) -> str:
    """Return the text with everything shaped like an ID number masked as ``mask_id_number`` does,
    valid or not: a mistyped ID number is still someone's."""
    return _ID_NUMBER_SHAPED.sub(lambda match: match.group()[:6] + _MASK + match.group()[-4:], text)


def mask_name(name: str) -> str:
    """Return the first character of a name and one ``*`` for each other character: ``张*``, ``欧**``."""
    return name[:1] + "*" * (len(name) - 1)


def birth_date_of(id_number: IdNumber) -> date:
    """Return the birth date recorded in a valid ID number."""
    digits = id_number[6:14]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def gender_of(id_number: IdNumber) -> Gender:
    """Return the gender recorded in a valid ID number: the 17th digit is odd for men, even for women."""
    return Gender.MALE if int(id_number[16]) % 2 == 1 else Gender.FEMALE


def make_id_number(region_code: str, birth: date, sequence: int, *, today: date | None = None) -> IdNumber:
    """Return a valid synthetic ID number, for tests and the demo.

    ``region_code`` is a six-digit GB/T 2260 code, ``sequence`` the sequence
    code 0–999 (odd for a man, even for a woman).
    Raises ``ValueError`` for a malformed region code or sequence, and
    ``InvalidIdNumber`` when the region or birth date would not pass the checks.
    """
    if len(region_code) != 6 or not (region_code.isascii() and region_code.isdigit()):
        raise ValueError("a region code has exactly 6 ASCII digits")
    if not 0 <= sequence <= SEQUENCE_MAX:
        raise ValueError(f"a sequence code is between 0 and {SEQUENCE_MAX}")
    first_17_digits = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return normalise_id_number(first_17_digits + check_digit_for(first_17_digits), today=today)


def _is_plausible_birth_date(digits: str, today: date) -> bool:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return EARLIEST_BIRTH_DATE <= birth <= today


def _today_in_beijing() -> date:
    return datetime.now(BEIJING).date()
