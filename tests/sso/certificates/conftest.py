"""Certificates on a real database (SQLite and PostgreSQL): the sample organisation, registered
people, a ledger with 2021's rules, the document-signing key, and a clock that stands still."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import Entry, Hours, PersonId, YearRules, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.certificates.pdf import CertificatePdf
from sso.certificates.service import Certificates, CertificatesConfig
from sso.certificates.store import SqlCertificateStore
from sso.handoff.model import HandoffConfig
from sso.handoff.service import Handoff
from sso.handoff.store import SqlHandoffStore
from sso.id_numbers import make_id_number
from sso.messages.service import Messages
from sso.messages.store import SqlMessageStore
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService

from ..clock import Clock
from ..people.conftest import FAST_HASHER
from ..people.forms import registration_form

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
BASE_URL = "http://127.0.0.1:8080"
ISSUER_NAME = "湖南省事业单位工作人员培训管理平台"
BEIJING = timezone(timedelta(hours=8))
RULES_2021 = YearRules(
    year=2021,
    total=Hours(9000),
    public=Hours(3000),
    professional=Hours(6000),
    hours_per_day=Hours(750),
    mandatory={
        "xi_thought": frozenset({"ischinese:XJP-2021-01"}),
        "party_history": frozenset({"ischinese:DS-2021-01", "hnou:HN-2021-DS01"}),
    },
)


@dataclass
class World:
    """The services of one test, on one database."""

    engine: AsyncEngine
    clock: Clock
    ledger: Ledger
    people: PeopleService
    handoff: Handoff
    certificates: Certificates
    messages: Messages
    registered: int = 0

    async def register(self, name: str = "欧阳娜娜", unit_code: str = "430100-0001") -> PersonId:
        self.registered += 1
        id_number = make_id_number("430102", date(1990, 3, 7), self.registered, today=date(2021, 12, 1))
        form = registration_form(
            name=name,
            id_number=id_number,
            phone=f"139{self.registered:08d}",
            email=f"staff{self.registered}@example.cn",
            unit_code=unit_code,
        )
        return await self.people.register(form)

    async def credit(
        self, person_id: str, record_id: str, subject: str, hours: str, course_code: str = "GEN-01"
    ) -> Entry:
        outcome = await self.ledger.record(
            new_credit(
                person_id=person_id,
                source="ischinese" if course_code.startswith(("XJP", "DS")) else "webtrn",
                record_id=record_id,
                course_code=course_code,
                course_title="课程",
                subject=subject,
                hours=hours,
                completed_at=datetime(2021, 6, 1, 10, 0, tzinfo=BEIJING),
                actor="test",
                payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
            )
        )
        return outcome.entries[0]

    async def reverse(self, record_id: str, course_code: str = "GEN-01") -> Entry:
        outcome = await self.ledger.record(
            new_reversal(
                source="ischinese" if course_code.startswith(("XJP", "DS")) else "webtrn",
                record_id=record_id,
                reason="the vendor revoked it",
                actor="test",
                payload_hash=hashlib.sha256(f"revoked {record_id}".encode()).hexdigest(),
            )
        )
        return outcome.entries[0]

    async def meet_the_year(self, person_id: str) -> list[Entry]:
        """Exactly 2021's rules: 30 public hours with both mandatory topics, 60 professional."""
        return [
            await self.credit(person_id, f"{person_id}-xjp", "public", "10", "XJP-2021-01"),
            await self.credit(person_id, f"{person_id}-ds", "public", "20", "DS-2021-01"),
            await self.credit(person_id, f"{person_id}-pro-1", "professional", "35.5"),
            await self.credit(person_id, f"{person_id}-pro-2", "professional", "24.5", "GEN-02"),
        ]


@pytest.fixture
async def world(engine: AsyncEngine, keyring: DataKeyring) -> World:
    clock = Clock(datetime(2021, 12, 1, 0, 0, tzinfo=UTC))
    organisation = OrganisationService(engine)
    await organisation.replace(load_organisation(ORGANISATION_FILE))
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021}, clock=clock)
    people = PeopleService(engine, keyring, organisation, clock=clock, password_hasher=FAST_HASHER)
    handoff = Handoff(SqlHandoffStore(engine), keyring, HandoffConfig(BASE_URL, {}, 86_400), clock=clock)
    certificates = Certificates(
        SqlCertificateStore(engine),
        ledger=ledger,
        people=people,
        organisation=organisation,
        handoff=handoff,
        renderer=CertificatePdf(FONT_FILE, ISSUER_NAME),
        config=CertificatesConfig(BASE_URL, ISSUER_NAME),
        clock=clock,
    )
    messages = Messages(SqlMessageStore(engine), clock=clock)
    return World(engine, clock, ledger, people, handoff, certificates, messages)
