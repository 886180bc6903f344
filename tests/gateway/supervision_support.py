"""Helpers of the supervisors' tests: people registered quickly into a served hub, and their hours in its ledger."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from argon2 import PasswordHasher

from ledger.model import BEIJING, Command, new_credit, new_reversal
from sso.id_numbers import make_id_number
from sso.people.service import PeopleService

from ..sso.people.forms import registration_form
from .access_support import Client, hub_of

# Cheap parameters: these tests are about oversight, not argon2's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
MANDATORY_TOPICS = """
[rules.2021.mandatory]
xi_thought = ["ischinese:XJP-2021-01", "webtrn:C1001"]
party_history = ["hnou:DS-2021"]
"""
COMPLETED_AT = datetime(2021, 6, 1, 10, 0, tzinfo=BEIJING)


def with_mandatory_topics(settings_file: Path) -> Path:
    """The test settings with two mandatory topics for 2021."""
    settings_file.write_text(settings_file.read_text(encoding="utf-8") + MANDATORY_TOPICS, encoding="utf-8")
    return settings_file


async def enrol(client: Client, sequence: int, unit_code: str, name: str = "王芳") -> str:
    """Register a person of the institution in the served hub; returns their id."""
    hub = hub_of(client)
    people = PeopleService(hub.engine, hub.keyring, hub.organisation, password_hasher=FAST_HASHER)
    form = registration_form(
        name=name,
        id_number=id_number(sequence),
        phone=f"139{sequence:08d}",
        email=f"staff{sequence}@example.cn",
        unit_code=unit_code,
    )
    return await people.register(form)


def id_number(sequence: int) -> str:
    return make_id_number("430102", date(1988, 5, 20), sequence, today=date(2021, 12, 1))


def credit(person_id: str, record_id: str, course: str, subject: str, hours: str) -> Command:
    """A credit of the course ``source:course_code``."""
    source, _, course = course.partition(":")
    return new_credit(
        person_id=person_id,
        source=source,
        record_id=record_id,
        course_code=course,
        course_title=f"课程 {course}",
        subject=subject,
        hours=hours,
        completed_at=COMPLETED_AT,
        actor=f"vendor:{source}",
        payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
    )


def reversal(record_id: str, source: str) -> Command:
    return new_reversal(
        source=source,
        record_id=record_id,
        reason="revoked by the vendor",
        actor=f"vendor:{source}",
        payload_hash=hashlib.sha256(f"revoked {record_id}".encode()).hexdigest(),
    )


async def record(client: Client, *commands: Command) -> None:
    """Record the commands in the served hub's ledger, in one batch."""
    await hub_of(client).ledger.record_batch(list(commands))
