"""The composition root's parts: everything the hub runs on, built from settings and closed again.

The web app, the command line, the scheduler and the tests all open the hub through ``open_hub``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hnou.daily import DailyFileClient
from adapters.hnou.records import HnouRecords
from adapters.hnou.translation import Translator
from adapters.ingestion.ports import OpenDiscrepancies
from adapters.ingestion.service import Ingestion
from adapters.ingestion.store import SqlIngestionStore
from adapters.ischinese.listing import ListingClient
from adapters.ischinese.records import IschineseRecords
from adapters.quarantine.service import Quarantine
from adapters.webtrn.client import WebtrnAccount, open_client
from adapters.webtrn.records import WebtrnRecords
from config import Settings
from config.settings import YearRulesSettings
from gateway.database import create_engine
from gateway.directory import HubLearnerDirectory, PeopleRegistry
from gateway.errors import HubNotReady
from gateway.labels import PeopleLabels
from gateway.messaging import SupervisionMessages
from gateway.runs import JobRuns
from gateway.vendors import AdapterServices, VendorAdapters, check_registry, handoff_links
from ledger.exports.service import Exports
from ledger.exports.store import SqlExportStore
from ledger.model import Source, YearRules, parse_hours
from ledger.reconciliation.ports import VendorRecords
from ledger.reconciliation.service import Reconciliations
from ledger.reconciliation.store import SqlReconciliationStore
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.access.service import Access
from sso.certificates.pdf import CertificatePdf
from sso.certificates.service import Certificates, CertificatesConfig
from sso.certificates.store import SqlCertificateStore
from sso.handoff import Handoff, HandoffConfig, SqlHandoffStore
from sso.messages.service import Messages
from sso.messages.store import SqlMessageStore
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService
from supervision.service import Supervision
from trainings.service import ContinuingEducation, OfflineTrainings
from trainings.store import SqlTrainingsStore


@dataclass(frozen=True, slots=True)
class Hub:
    """The running hub's services."""

    settings: Settings
    engine: AsyncEngine
    keyring: DataKeyring
    ledger: Ledger
    organisation: OrganisationService
    people: PeopleService
    access: Access
    handoff: Handoff
    ingestion: Ingestion
    exports: Exports
    offline_trainings: OfflineTrainings
    continuing_education: ContinuingEducation
    supervision: Supervision
    messages: Messages
    certificates: Certificates
    directory: HubLearnerDirectory
    http: httpx.AsyncClient
    """The one HTTP client of the hub's outbound calls; each call states its own timeout."""
    vendors: VendorAdapters
    quarantine: Quarantine
    runs: JobRuns
    discrepancies: OpenDiscrepancies
    """Open discrepancies per vendor, for the vendors' health."""
    reconciliations: Reconciliations


def ledger_rules(rules: Mapping[int, YearRulesSettings]) -> dict[int, YearRules]:
    """The ledger's rules from the configured ones; hours become exact hundredths."""
    return {
        year: YearRules(
            year=year,
            total=parse_hours(year_rules.total_hours),
            public=parse_hours(year_rules.public_hours),
            professional=parse_hours(year_rules.professional_hours),
            hours_per_day=parse_hours(year_rules.hours_per_day),
            mandatory={topic: frozenset(courses) for topic, courses in year_rules.mandatory.items()},
        )
        for year, year_rules in rules.items()
    }


def handoff_config(settings: Settings) -> HandoffConfig:
    """The handoff's view of the settings: the issuer, how each configured vendor is reached, the key schedule."""
    return HandoffConfig(settings.hub.base_url, handoff_links(settings), settings.hub.key_activation_delay_seconds)


VENDOR_CONNECTIONS_MAX = 20
"""Connections open to the vendors at once, from one hub process (each call states its own timeout)."""


def vendor_records(
    settings: Settings,
    *,
    ledger: Ledger,
    people: PeopleService,
    handoff: Handoff,
    keyring: DataKeyring,
    http: httpx.AsyncClient,
) -> dict[Source, VendorRecords]:
    """The reader of each configured vendor's records, for reconciliation."""
    vendors, directory = settings.vendors, HubLearnerDirectory(people, handoff)
    readers: dict[Source, VendorRecords] = {}
    if (ischinese := vendors.ischinese) is not None:
        listing = ListingClient(http, api_base=ischinese.api_base, api_key=ischinese.api_key.get_secret_value())
        readers[Source.ISCHINESE] = IschineseRecords(listing, directory)
    if (webtrn := vendors.webtrn) is not None:
        account = WebtrnAccount(
            webtrn.token_url, webtrn.api_base, webtrn.client_id, webtrn.client_secret.get_secret_value()
        )
        readers[Source.WEBTRN] = WebtrnRecords(lambda: open_client(account), directory, ledger.check)
    if (hnou := vendors.hnou) is not None:
        translator = Translator(people.find_by_id_number, keyring, ledger.check)
        files = DailyFileClient(
            http,
            api_base=hnou.api_base,
            appid=hnou.appid,
            appsecret=hnou.appsecret.get_secret_value(),
            translator=translator,
        )
        readers[Source.HNOU] = HnouRecords(files)
    return readers


def ensure_keyring(path: Path) -> bool:
    """Create the personal-data key file if it is missing; ``True`` when it was created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    DataKeyring.generate().save(path)
    return True


def load_keyring(path: Path) -> DataKeyring:
    """The personal-data keys; raises ``HubNotReady`` when ``hub migrate`` has not created them."""
    if not path.exists():
        raise HubNotReady(f"the personal-data key {path} does not exist: run `hub migrate` first")
    return DataKeyring.load(path)


@asynccontextmanager
async def open_hub(settings: Settings) -> AsyncIterator[Hub]:
    """Every service of the hub, closed again when the context ends. Raises ``HubNotReady`` and
    ``VendorNotReady`` for what the hub cannot start without."""
    check_registry()
    keyring = load_keyring(settings.hub.data_key_file)
    engine = create_engine(settings.hub.database_url)
    organisation = OrganisationService(engine)
    ingestion = Ingestion(SqlIngestionStore(engine))
    rules = ledger_rules(settings.rules)
    ledger = Ledger(SqlLedgerStore(engine), rules)
    passwords = settings.passwords
    hasher = PasswordHasher(
        time_cost=passwords.time_cost, memory_cost=passwords.memory_kib, parallelism=passwords.parallelism
    )
    people = PeopleService(engine, keyring, organisation, password_hasher=hasher)
    handoff = Handoff(SqlHandoffStore(engine), keyring, handoff_config(settings))
    trainings = SqlTrainingsStore(engine, keyring)
    directory = HubLearnerDirectory(people, handoff)
    messages = Messages(SqlMessageStore(engine))
    try:
        async with httpx.AsyncClient(
            limits=httpx.Limits(max_connections=VENDOR_CONNECTIONS_MAX), follow_redirects=False
        ) as http:
            vendors = VendorAdapters.build(settings, AdapterServices(ledger, directory, keyring, engine, http))
            readers = vendor_records(
                settings, ledger=ledger, people=people, handoff=handoff, keyring=keyring, http=http
            )
            reconciliations = Reconciliations(SqlReconciliationStore(engine), ledger, readers)
            yield Hub(
                settings=settings,
                engine=engine,
                keyring=keyring,
                ledger=ledger,
                organisation=organisation,
                people=people,
                access=Access.on(engine),
                handoff=handoff,
                ingestion=ingestion,
                exports=Exports(ledger, SqlExportStore(engine), PeopleLabels(people), handoff),
                offline_trainings=OfflineTrainings(trainings, ledger, PeopleRegistry(people), rules),
                continuing_education=ContinuingEducation(trainings, ledger, PeopleRegistry(people), rules),
                supervision=Supervision.on(
                    engine,
                    evaluations=ledger,
                    rosters=people,
                    organisation=organisation,
                    messages=SupervisionMessages(messages),
                ),
                messages=messages,
                certificates=Certificates(
                    SqlCertificateStore(engine),
                    ledger=ledger,
                    people=people,
                    organisation=organisation,
                    handoff=handoff,
                    renderer=CertificatePdf(settings.certificates.font_file, settings.certificates.issuer_name),
                    config=CertificatesConfig(settings.hub.base_url, settings.certificates.issuer_name),
                ),
                directory=directory,
                http=http,
                vendors=vendors,
                quarantine=Quarantine(ledger, vendors.translators),
                runs=JobRuns(engine),
                discrepancies=reconciliations,
                reconciliations=reconciliations,
            )
            await reconciliations.close()  # each run under way records that it was cancelled
    finally:
        await ingestion.flush_refusals()  # the refusals counted since the last write
        await engine.dispose()
