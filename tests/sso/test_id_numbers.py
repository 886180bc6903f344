"""GB 11643-1999 ID numbers: the standard's examples, each rejection reason, and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sso.errors import IdNumberRejection, InvalidIdNumber
from sso.id_numbers import (
    PROVINCE_CODES,
    Gender,
    IdNumber,
    birth_date_of,
    check_digit_for,
    gender_of,
    make_id_number,
    mask_id_number,
    normalise_id_number,
)

TODAY = date(2021, 6, 1)
TEXTBOOK_EXAMPLE = "11010519491231002X"
"""The example of GB 11643-1999: Beijing, Chaoyang district, born 31 December 1949, a woman."""


def _with_check_digit(first_17_digits: str) -> str:
    return first_17_digits + check_digit_for(first_17_digits)


def _reason_for(text: str) -> IdNumberRejection:
    with pytest.raises(InvalidIdNumber) as caught:
        normalise_id_number(text, today=TODAY)
    return caught.value.reason


# The standard's examples and check-digit vectors.


def test_the_textbook_example_is_valid() -> None:
    assert normalise_id_number(TEXTBOOK_EXAMPLE, today=TODAY) == TEXTBOOK_EXAMPLE


def test_the_check_digit_follows_the_weighted_sum_of_iso_7064_mod_11_2() -> None:
    digits = [int(digit) for digit in "11010519491231002"]
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    weighted_sum = sum(digit * weight for digit, weight in zip(digits, weights, strict=True))

    assert weighted_sum == 167
    assert weighted_sum % 11 == 2
    assert check_digit_for("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("first_17_digits", "check_digit"),
    [
        ("11010519491231002", "X"),  # GB 11643-1999, the first example
        ("44052418800101001", "4"),  # GB 11643-1999, the second example
        ("43010219900101001", "6"),
        ("43310119850615002", "4"),
        ("81000019900101001", "9"),
        ("83000020000229008", "2"),
    ],
)
def test_check_digit_vectors(first_17_digits: str, check_digit: str) -> None:
    assert check_digit_for(first_17_digits) == check_digit


@pytest.mark.parametrize("first_17_digits", ["", "1101051949123100", "110105194912310020", "1101051949123100A"])
def test_a_check_digit_needs_exactly_17_digits(first_17_digits: str) -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_digit_for(first_17_digits)


def test_the_second_example_of_the_standard_is_refused_for_a_birth_before_1900() -> None:
    assert _reason_for("440524188001010014") is IdNumberRejection.BIRTH_DATE


# Normalisation.


def test_a_lower_case_x_is_the_same_as_an_upper_case_x() -> None:
    assert normalise_id_number("11010519491231002x", today=TODAY) == TEXTBOOK_EXAMPLE


def test_surrounding_whitespace_is_stripped() -> None:
    assert normalise_id_number(" \t11010519491231002X\n", today=TODAY) == TEXTBOOK_EXAMPLE


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permits_of_hong_kong_macao_and_taiwan_residents_are_valid(prefix: str) -> None:
    number = _with_check_digit(f"{prefix}19900101001")

    assert normalise_id_number(number, today=TODAY) == number


def test_without_today_the_birth_date_is_bounded_by_the_current_date() -> None:
    assert normalise_id_number(TEXTBOOK_EXAMPLE) == TEXTBOOK_EXAMPLE
    future = date.today() + timedelta(days=400)  # noqa: DTZ011 -- a year ahead in any time zone

    with pytest.raises(InvalidIdNumber):
        normalise_id_number(_with_check_digit(f"430102{future:%Y%m%d}001"))


# Each rejection reason.


@pytest.mark.parametrize(
    "text",
    ["", "   ", "11010519491231002", "11010519491231002X0", "110105491231002", "1101051949123100 2X"],
)
def test_a_number_without_18_characters_is_refused_for_its_length(text: str) -> None:
    assert _reason_for(text) is IdNumberRejection.LENGTH


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002A",
        "1101051949123100X2",
        "x10105194912310020",
        "11010519491231002-",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢٠",  # Arabic-Indic digits
    ],
)
def test_a_number_of_other_characters_is_refused_for_its_format(text: str) -> None:
    assert _reason_for(text) is IdNumberRejection.FORMAT


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "47", "55", "66", "70", "72", "80", "84", "91", "99"])
def test_a_number_outside_the_province_codes_is_refused_for_its_region(province: str) -> None:
    assert _reason_for(_with_check_digit(f"{province}010519491231002")) is IdNumberRejection.REGION


@pytest.mark.parametrize(
    "birth",
    [
        "19491331",  # no 13th month
        "19490230",  # no 30 February
        "19000229",  # 1900 was not a leap year
        "20210229",
        "19490000",
        "18991231",  # before 1900
        "20210602",  # after the given today
        "99991231",
    ],
)
def test_a_number_without_a_real_past_birth_date_is_refused_for_its_birth_date(birth: str) -> None:
    assert _reason_for(_with_check_digit(f"430102{birth}001")) is IdNumberRejection.BIRTH_DATE


@pytest.mark.parametrize("birth", ["19000101", "20000229", "20210601"])
def test_the_bounds_and_leap_days_of_birth_dates_are_accepted(birth: str) -> None:
    number = _with_check_digit(f"430102{birth}001")

    assert normalise_id_number(number, today=TODAY) == number


@pytest.mark.parametrize("text", ["110105194912310021", "110105194912310029", "440524198001010014"])
def test_a_number_with_a_wrong_check_digit_is_refused_for_its_check_digit(text: str) -> None:
    assert _reason_for(text) is IdNumberRejection.CHECK_DIGIT


def test_the_checks_run_in_a_stable_order() -> None:
    assert _reason_for("99010518991231002A") is IdNumberRejection.FORMAT
    assert _reason_for("990105189912310020") is IdNumberRejection.REGION
    assert _reason_for("430105189912310020") is IdNumberRejection.BIRTH_DATE


def test_the_error_has_a_stable_code_title_and_reason() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalise_id_number("110105194912310021", today=TODAY)

    assert caught.value.code == "invalid_id_number"
    assert caught.value.title == "Invalid ID number"
    assert caught.value.reason == "check_digit"


@pytest.mark.parametrize(
    "text", ["110105194912310021", "990105194912310020", "430102194913310020", "11010519491231002A", "1101051949"]
)
def test_the_message_never_contains_the_number(text: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalise_id_number(text, today=TODAY)

    message = str(caught.value)
    assert text not in message
    assert text[:6] not in message
    assert text[-4:] not in message


# Reading a valid number.


def test_masking_keeps_the_first_6_and_last_4_characters() -> None:
    assert mask_id_number(IdNumber(TEXTBOOK_EXAMPLE)) == "110105********002X"


def test_the_birth_date_and_gender_are_read_from_the_number() -> None:
    number = normalise_id_number(TEXTBOOK_EXAMPLE, today=TODAY)

    assert birth_date_of(number) == date(1949, 12, 31)
    assert gender_of(number) is Gender.FEMALE
    assert gender_of(make_id_number("430102", date(1980, 5, 17), 13, today=TODAY)) == "男"


# Making synthetic numbers.


def test_make_id_number_computes_the_check_digit() -> None:
    assert make_id_number("110105", date(1949, 12, 31), 2, today=TODAY) == TEXTBOOK_EXAMPLE


@pytest.mark.parametrize("region_code", ["43010", "4301020", "43010a", "４３０１０２"])
def test_make_id_number_refuses_a_malformed_region_code(region_code: str) -> None:
    with pytest.raises(ValueError, match="6 ASCII digits"):
        make_id_number(region_code, date(1980, 1, 1), 1, today=TODAY)


@pytest.mark.parametrize("sequence", [-1, 1000])
def test_make_id_number_refuses_a_sequence_out_of_range(sequence: int) -> None:
    with pytest.raises(ValueError, match="sequence"):
        make_id_number("430102", date(1980, 1, 1), sequence, today=TODAY)


def test_make_id_number_refuses_what_normalisation_would_refuse() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        make_id_number("990102", date(1980, 1, 1), 1, today=TODAY)
    assert caught.value.reason is IdNumberRejection.REGION

    with pytest.raises(InvalidIdNumber) as caught:
        make_id_number("430102", TODAY + timedelta(days=1), 1, today=TODAY)
    assert caught.value.reason is IdNumberRejection.BIRTH_DATE


# Properties.

region_codes = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
valid_numbers = st.builds(lambda *parts: make_id_number(*parts, today=TODAY), region_codes, births, sequences)


@given(region_codes, births, sequences)
def test_make_id_number_always_validates(region_code: str, birth: date, sequence: int) -> None:
    number = make_id_number(region_code, birth, sequence, today=TODAY)

    assert normalise_id_number(number, today=TODAY) == number
    assert normalise_id_number(number.lower(), today=TODAY) == number
    assert number.startswith(region_code)
    assert birth_date_of(number) == birth
    assert gender_of(number) is (Gender.MALE if sequence % 2 == 1 else Gender.FEMALE)
    assert mask_id_number(number) == number[:6] + "********" + number[14:]


@given(valid_numbers, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_changing_any_single_character_of_a_valid_number_is_refused(
    number: IdNumber, position: int, replacement: str
) -> None:
    changed = number[:position] + replacement + number[position + 1 :]
    if changed == number:
        return

    with pytest.raises(InvalidIdNumber):
        normalise_id_number(changed, today=TODAY)


@given(valid_numbers, st.integers(min_value=0, max_value=16))
def test_swapping_two_different_adjacent_digits_is_refused(number: IdNumber, position: int) -> None:
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    if swapped == number:
        return

    with pytest.raises(InvalidIdNumber):
        normalise_id_number(swapped, today=TODAY)


@given(st.text(max_size=40))
def test_any_text_is_either_a_valid_number_or_refused_with_a_reason(text: str) -> None:
    refusal: InvalidIdNumber | None = None
    try:
        number = normalise_id_number(text, today=TODAY)
    except InvalidIdNumber as exc:
        refusal = exc
    else:
        assert normalise_id_number(number, today=TODAY) == number

    if refusal is not None:
        assert str(refusal) == str(InvalidIdNumber(refusal.reason))  # the message depends on the reason alone
