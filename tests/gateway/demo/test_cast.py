"""The demo's people and their year: valid registrations, a story with both outcomes, and records
that go astray and decide their people's year."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from config import load_settings
from gateway.bootstrap import ledger_rules
from gateway.demo import STAFF_COUNT, STAFF_COUNT_RANGE
from gateway.demo.cast import LOST_DECIDING, LOST_OTHERS, cast, meets, strays, studies
from gateway.demo.stage import ORGANISATION_FILE, PREFERRED_PORTS, VendorSecrets, settings_text
from ledger.model import BEIJING, Balance, Source, YearRules, course_key, evaluate, parse_hours
from sso.people.model import parse_registration

SIZES = (STAFF_COUNT_RANGE.start, STAFF_COUNT)
"""The size the demo's test plays, and ``make demo``'s."""


@pytest.fixture
def rules(tmp_path: Path) -> YearRules:
    """The rules of 2021 in the demo's settings."""
    urls = {name: f"http://127.0.0.1:{port}" for name, port in PREFERRED_PORTS.items()}
    settings_file = tmp_path / "hub.toml"
    settings_file.write_text(
        settings_text(
            urls, "sqlite+aiosqlite:///hub.db", tmp_path / "data.key", ORGANISATION_FILE, VendorSecrets.generate()
        ),
        encoding="utf-8",
    )
    return ledger_rules(load_settings(settings_file).rules)[2021]


def test_every_registration_is_valid_and_every_id_number_its_own() -> None:
    members = cast(STAFF_COUNT)

    for member in members:
        parse_registration(member.registration(), today=date(2026, 1, 1))

    assert len(members) == STAFF_COUNT
    assert len({member.id_number for member in members}) == STAFF_COUNT
    assert len({member.name for member in members}) == STAFF_COUNT
    assert len({member.institution for member in members}) == 10
    assert {vendor for member in members for vendor in member.vendors} == {"ischinese", "webtrn", "hnou"}


def test_a_cast_beyond_the_id_numbers_sequence_codes_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 499"):
        cast(STAFF_COUNT_RANGE.stop)


@pytest.mark.parametrize("size", SIZES)
def test_the_year_studied_meets_the_demos_rules_for_some_and_not_for_others(rules: YearRules, size: int) -> None:
    members = cast(size)
    done = studies(members)

    met = []
    for member in members:
        own = [study for study in done if study.member == member]
        earned = Counter[str]()
        for study in own:
            earned[study.course.subject] += parse_hours(study.course.hours)
        completed = frozenset(course_key(Source(study.course.vendor), study.course.code) for study in own)
        met.append(evaluate(rules, Balance(earned["public"], earned["professional"]), completed).met)
        assert met[-1] == meets(rules, own)

    assert 0 < sum(met) < len(met)
    assert {study.completed_at.astimezone(BEIJING).year for study in done} == {2021}
    assert {study.course.vendor for study in done} == {"ischinese", "webtrn", "hnou"}


@pytest.mark.parametrize("size", SIZES)
def test_records_go_astray_at_every_vendor_and_most_decide_a_year(rules: YearRules, size: int) -> None:
    done = studies(cast(size))

    astray = strays(done, rules)

    assert len(astray.ischinese) == LOST_DECIDING + LOST_OTHERS
    assert astray.webtrn is not None
    assert astray.hnou is not None
    assert astray.webtrn.completed_at < max(study.completed_at for study in done if study.course.vendor == "webtrn")
    assert len(astray.people) == len(astray.studies)  # one record a person
    deciding = []
    for stray in astray.studies:
        own = [study for study in done if study.member == stray.member]
        deciding.append(meets(rules, own) and not meets(rules, [study for study in own if study != stray]))
        if deciding[-1]:
            assert not stray.member.continuing_education
            assert not stray.member.attends_offline
    assert deciding[:LOST_DECIDING] == [True] * LOST_DECIDING  # ischinese's first lost webhooks
    assert sum(deciding) > LOST_DECIDING  # and at webtrn or hnou
