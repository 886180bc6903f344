"""The demo's people and their year: valid registrations, and a story with both outcomes."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from config import load_settings
from gateway.bootstrap import ledger_rules
from gateway.demo import STAFF_COUNT
from gateway.demo.cast import cast, studies
from gateway.demo.stage import ORGANISATION_FILE, PREFERRED_PORTS, VendorSecrets, settings_text
from ledger.model import BEIJING, Balance, Source, course_key, evaluate, parse_hours
from sso.people.model import parse_registration


def test_every_registration_is_valid_and_every_id_number_its_own() -> None:
    members = cast(STAFF_COUNT)

    for member in members:
        parse_registration(member.registration(), today=date(2026, 1, 1))

    assert len(members) == STAFF_COUNT
    assert len({member.id_number for member in members}) == STAFF_COUNT
    assert len({member.institution for member in members}) > 1


def test_the_year_studied_meets_the_demos_rules_for_some_and_not_for_others(tmp_path: Path) -> None:
    urls = {name: f"http://127.0.0.1:{port}" for name, port in PREFERRED_PORTS.items()}
    settings_file = tmp_path / "hub.toml"
    settings_file.write_text(
        settings_text(
            urls, "sqlite+aiosqlite:///hub.db", tmp_path / "data.key", ORGANISATION_FILE, VendorSecrets.generate()
        ),
        encoding="utf-8",
    )
    rules = ledger_rules(load_settings(settings_file).rules)[2021]
    members = cast(STAFF_COUNT)
    done = studies(members)

    met = []
    for member in members:
        own = [study for study in done if study.member == member]
        earned = Counter[str]()
        for study in own:
            earned[study.course.subject] += parse_hours(study.course.hours)
        completed = frozenset(course_key(Source(study.course.vendor), study.course.code) for study in own)
        met.append(evaluate(rules, Balance(earned["public"], earned["professional"]), completed).met)

    assert 0 < sum(met) < len(met)
    assert {study.completed_at.astimezone(BEIJING).year for study in done} == {2021}
    assert {study.course.vendor for study in done} == {"ischinese", "webtrn", "hnou"}
