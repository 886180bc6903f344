"""Certificate numbers, masked names, and what a review decides."""

from __future__ import annotations

import pytest

from ledger.model import Balance, Hours, YearRules, evaluate
from sso.certificates.model import (
    ALPHABET,
    Decision,
    check_character,
    decide,
    is_certificate_number,
    mask_name,
    new_certificate_number,
)

RULES = YearRules(year=2021, total=Hours(9000), public=Hours(3000), professional=Hours(6000), hours_per_day=Hours(750))


def test_numbers_are_random_well_formed_and_carry_the_year() -> None:
    numbers = {new_certificate_number(2021) for _ in range(2000)}

    assert len(numbers) == 2000
    assert all(is_certificate_number(number) and number.startswith("2021-") for number in numbers)


def test_the_check_character_catches_every_mistyped_character() -> None:
    number = new_certificate_number(2021)
    plain = number.replace("-", "")
    for position in range(len(plain)):
        for character in ALPHABET.replace(plain[position], ""):
            typo = plain[:position] + character + plain[position + 1 :]
            assert check_character(typo[:-1]) != typo[-1], (number, position, character)


def test_the_check_character_follows_iso_7064_mod_37_36() -> None:
    # The standard's check: over the whole string, check character included, the last sum is 1.
    for body in ("0", "A", "2021ABCDEFGHJKLMNPQ", "ZZZZZZZZ"):
        product, total = 36, 0
        for character in body + check_character(body):
            total = (product + ALPHABET.index(character)) % 36 or 36
            product = (2 * total) % 37
        assert total == 1, body


@pytest.mark.parametrize(
    "text",
    ["2021-ABCD-EFGH-JKLM-NPQ", "2021ABCDEFGHJKLMNPQR", "2021-abcd-efgh-jklm-npqr", "2021-ABCD-EFGH-JKLM-NPQ!", ""],
)
def test_anything_else_is_not_a_certificate_number(text: str) -> None:
    assert not is_certificate_number(text)


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "王"), ("买买提·艾力", "买*****")]
)
def test_a_masked_name_keeps_its_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("earned", "has_valid", "decision"),
    [
        (Balance(public=3000, professional=6000), False, Decision.ISSUE),
        (Balance(public=3000, professional=6000), True, Decision.KEEP),
        (Balance(public=2999, professional=6001), True, Decision.REVOKE),
        (Balance(public=2999, professional=6001), False, Decision.KEEP),
    ],
)
def test_a_review_issues_revokes_or_keeps(earned: Balance, has_valid: bool, decision: Decision) -> None:
    from dataclasses import dataclass

    @dataclass
    class Valid:  # decide() only asks whether there is one
        number: str = "2021-0000-0000-0000-0000"

    valid = Valid() if has_valid else None

    assert decide(evaluate(RULES, earned, frozenset()), valid) is decision  # type: ignore[arg-type]
