"""Certificates' use cases: review a person's year after its entries changed (issue, revoke or
keep), apply with ticked records, list a person's history, find one for verification, download
its PDF; and the worker that reviews every year the ledger marks due.

A year is marked due in the transaction that appends to it (``ledger_evaluation_due``), so no change
goes unreviewed, even when the process dies right after the append. The worker in each serving
process reviews shortly after its own process appended and sweeps every ``SWEEP_SECONDS`` for the
rest. Reviews of one year take turns, and each decides against the entries it read under that turn,
so two processes reviewing at once issue one certificate, and a revocation is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from joserfc import jws

from ledger.errors import NoRulesForYear
from ledger.model import Balance, DueEvaluation, Evaluation, Hours, PersonId, evaluate_credits, format_hours
from ledger.service import Ledger, YearReview, YearStanding
from sso.certificates.errors import CertificateNotFound, RequirementNotMet
from sso.certificates.model import (
    Certificate,
    CertificateBasis,
    CertificateStatus,
    Decision,
    Download,
    DownloaderKind,
    SignedFacts,
    decide,
    is_certificate_number,
    mask_name,
    missing_errors,
    new_certificate_number,
    parse_application,
    ticked_credits,
)
from sso.certificates.pdf import CertificatePdf
from sso.certificates.store import (
    SqlCertificateStore,
    insert_certificate,
    revoke_certificate,
    valid_certificate,
    valid_certificates,
)
from sso.errors import UnknownOrganisationCode
from sso.handoff.keys import LoadedKey
from sso.handoff.model import DOCUMENT_ALGORITHM, KeyUse
from sso.handoff.service import Handoff
from sso.handoff.tokens import sign_document
from sso.messages.model import MessageKind, NewMessage
from sso.messages.store import insert_messages
from sso.people.errors import PersonNotFound
from sso.people.service import PeopleService
from sso.units.service import OrganisationService

__all__ = ["Certificates", "CertificatesConfig", "HistoryItem", "Issued", "running_reviews"]

Clock = Callable[[], datetime]
SWEEP_SECONDS: Final = 60.0
"""How often a worker looks for years due that no append of its own process woke it for."""
SETTLE_SECONDS: Final = 1.0
"""How long a worker lets appends gather after one woke it: a burst of deliveries (group commits of
webhooks, a pulled page after another) is then reviewed once per person-year, not once per append."""
REVIEWS_PER_ROUND: Final = 500
STOP_GRACE_SECONDS: Final = 30.0
REASON_CHARACTERS_MAX: Final = 200

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CertificatesConfig:
    """Where certificates are verified (the hub's base URL, also the signed ``issuer``) and who issues them."""

    base_url: str
    issuer_name: str


@dataclass(frozen=True, slots=True)
class Issued:
    """The answer to an application: the new certificate, or (``created`` False) the valid one the year had."""

    certificate: Certificate
    created: bool


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """A certificate in its owner's history, with its latest downloads and how many there were."""

    certificate: Certificate
    downloads: tuple[Download, ...]
    download_count: int


@dataclass(frozen=True, slots=True)
class _Holder:
    """What a certificate says of its holder, read before a review opens its transaction."""

    person_id: PersonId
    name: str
    unit_name: str


class Certificates:
    """The hub's training certificates."""

    def __init__(
        self,
        store: SqlCertificateStore,
        *,
        ledger: Ledger,
        people: PeopleService,
        organisation: OrganisationService,
        handoff: Handoff,
        renderer: CertificatePdf,
        config: CertificatesConfig,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._people = people
        self._organisation = organisation
        self._handoff = handoff
        self._renderer = renderer
        self._config = config
        self._clock = clock

    def verify_url(self, number: str) -> str:
        """The public verification page of a certificate: what its QR code holds."""
        return f"{self._config.base_url}/verify/{number}"

    def check_font(self) -> None:
        """Raises ``CertificateFontMissing`` unless the PDFs' font is where the settings say."""
        self._renderer.check_font()

    @staticmethod
    def pdf_path(number: str) -> str:
        return f"/api/v1/certificates/{number}.pdf"

    # ------------------------------------------------------------ reviews

    async def review_due(self, stop: asyncio.Event | None = None) -> int:
        """Review every year due now, or until ``stop`` is set; returns how many were reviewed. A year
        whose review fails is logged and stays due, for the next call.

        A year that becomes due again during the call (appends go on) waits for the next call: under
        a steady stream of deliveries the reviews come once per round, not back to back."""
        failed: set[tuple[str, int]] = set()
        reviewed = 0
        more = True
        while more:
            listed = await self._ledger.due_evaluations(REVIEWS_PER_ROUND)
            more = len(listed) == REVIEWS_PER_ROUND  # a full page: more may have been due at the start
            batch = [due for due in listed if (due.person_id, due.year) not in failed]
            if not batch or (stop is not None and stop.is_set()):
                return reviewed
            unchanged = await self._keep_unchanged(batch)
            reviewed += len(unchanged)
            for due in (due for due in batch if (due.person_id, due.year) not in unchanged):
                if stop is not None and stop.is_set():
                    return reviewed
                try:
                    await self.review(due)
                # The worker outlives a failed review (a database gone for a moment, or a bug): the year
                # stays due and is reviewed again on the next call.
                except Exception:
                    log.exception("certificate_review_failed", person_id=due.person_id, year=due.year)
                    failed.add((due.person_id, due.year))
                else:
                    reviewed += 1
        return reviewed

    async def _keep_unchanged(self, batch: list[DueEvaluation]) -> set[tuple[PersonId, int]]:
        """Review the years of ``batch`` that have rules in one transaction, and settle those whose
        decision is to keep things as they are (most are); return them. The others (an issue needs
        the holder and the key read first, a revocation its message) are left for ``review``, and
        so is every year when the shared review fails."""
        years = list(dict.fromkeys((due.person_id, due.year) for due in batch if self._has_rules(due.year)))
        if not years:
            return set()
        try:
            async with self._ledger.reviewing_standings(years) as standings:
                valid = await valid_certificates(standings[0].connection, years)
                unchanged = [
                    standing
                    for standing in standings
                    if decide(standing.evaluation, valid.get((standing.person_id, standing.year))) is Decision.KEEP
                ]
                await self._ledger.settle_standings(unchanged)
        # As for one year's review below: the years stay due, and each is reviewed on its own.
        except Exception:
            log.exception("certificate_reviews_failed", years=len(years))
            return set()
        return {(standing.person_id, standing.year) for standing in unchanged}

    def _has_rules(self, year: int) -> bool:
        try:
            self._ledger.rules_for(year)
        except NoRulesForYear:
            return False
        return True

    async def review(self, due: DueEvaluation) -> Decision | None:
        """Decide about the certificate of a due year as its entries stand now: issue, revoke or keep.

        ``None`` for a year there is nothing to decide about (it has no rules, or a certificate is
        due to a person who is not registered); its due mark is ended all the same.
        """
        try:
            self._ledger.rules_for(due.year)
        except NoRulesForYear:
            await self._forget(due)
            return None
        issuing: tuple[_Holder, LoadedKey] | None = None
        while True:
            async with self._ledger.reviewing_standing(due.person_id, due.year) as review:
                valid = await valid_certificate(review.connection, review.person_id, due.year)
                evaluation = review.evaluation
                decision = decide(evaluation, valid)
                if decision is not Decision.ISSUE or issuing is not None:
                    if decision is Decision.ISSUE and issuing is not None:
                        await self._issue(review, *issuing, CertificateBasis.AUTOMATIC, evaluation.earned)
                    elif decision is Decision.REVOKE and valid is not None:
                        await self._revoke(review, valid, evaluation)
                    await review.settle()
                    return decision
            # Most reviews decide to keep things as they are: only an issue needs the holder and
            # the key, read outside the review's transaction; then the year is reviewed again.
            try:
                issuing = (await self._holder(due.person_id), await self._document_key())
            except (PersonNotFound, UnknownOrganisationCode):
                await self._forget(due)
                return None

    async def _forget(self, due: DueEvaluation) -> None:
        await self._ledger.forget_due(due)
        log.info("certificate_review_skipped", person_id=due.person_id, year=due.year)

    # ------------------------------------------------------------ applications

    async def apply(self, person_id: PersonId, form: Mapping[str, object]) -> Issued:
        """Apply for the year's certificate with ticked records (``{"year", "entry_ids"}``).

        Returns the year's valid certificate if it has one, else a new one if the ticked records are
        the person's counted records of the year and meet its rules. Raises
        ``InvalidCertificateRequest`` for a malformed form, ``NoRulesForYear``, and
        ``RequirementNotMet`` naming every record at fault and every part of the rules missing.
        """
        year, ticked = parse_application(form)
        self._ledger.rules_for(year)
        holder = await self._holder(person_id)
        key = await self._document_key()
        async with self._ledger.reviewing(person_id, year) as review:
            valid = await valid_certificate(review.connection, person_id, year)
            if valid is not None:
                return Issued(valid, created=False)
            credits, errors = ticked_credits(review.entries, ticked, year)
            evaluation = evaluate_credits(review.rules, credits)
            errors += missing_errors(evaluation)
            if errors:
                raise RequirementNotMet(errors, evaluation)
            certificate = await self._issue(review, holder, key, CertificateBasis.APPLIED, evaluation.earned)
        return Issued(certificate, created=True)

    # ------------------------------------------------------------ reading

    async def history(self, person_id: PersonId) -> list[HistoryItem]:
        """The person's certificates, newest first, each with its downloads."""
        certificates = await self._store.of_person(person_id)
        numbers = [certificate.number for certificate in certificates]
        downloads = await self._store.downloads_of(numbers)
        counts = await self._store.download_counts(numbers)
        return [
            HistoryItem(certificate, tuple(downloads[certificate.number]), counts[certificate.number])
            for certificate in certificates
        ]

    async def find(self, number: str) -> Certificate:
        """The certificate with this number. Raises ``CertificateNotFound`` for a number that is
        malformed (its check character too), or that no certificate has."""
        if not is_certificate_number(number):
            raise CertificateNotFound
        certificate = await self._store.by_number(number)
        if certificate is None:
            raise CertificateNotFound
        return certificate

    async def download(self, certificate: Certificate, by: DownloaderKind, token_id: int | None = None) -> bytes:
        """The certificate's PDF, its download recorded. Raises ``CertificateFontMissing``."""
        kid = str(jws.extract_compact(certificate.signature.encode("ascii")).headers()["kid"])
        pdf = await asyncio.to_thread(self._renderer.render, certificate, self.verify_url(certificate.number), kid)
        await self._store.record_download(Download(certificate.number, self._clock(), by, token_id))
        return pdf

    # ------------------------------------------------------------ the decisions' writes

    async def _issue(
        self,
        review: YearReview | YearStanding,
        holder: _Holder,
        key: LoadedKey,
        basis: CertificateBasis,
        earned: Balance,
    ) -> Certificate:
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        facts = SignedFacts(
            certificate_no=new_certificate_number(review.rules.year),
            name_masked=mask_name(holder.name),
            year=review.rules.year,
            public=Hours(earned.public),
            professional=Hours(earned.professional),
            issued_at=now,
            issuer=self._config.base_url,
        )
        certificate = Certificate(
            facts=facts,
            person_id=holder.person_id,
            name=holder.name,
            unit_name=holder.unit_name,
            basis=basis,
            ledger_seq=review.last_seq,
            signature=sign_document(key, facts.payload()),
            status=CertificateStatus.VALID,
            revoked_at=None,
            revoked_reason=None,
        )
        await insert_certificate(review.connection, certificate)
        message = NewMessage(
            person_id=holder.person_id,
            kind=MessageKind.CERTIFICATE_ISSUED,
            title=f"{facts.year}年度培训合格证书已生成",
            body=(
                f"您{facts.year}年度的培训学时已达到要求，培训合格证书（编号 {facts.certificate_no}）已生成，"
                "可在“历史证书”中下载。"
            ),
            link=self.pdf_path(facts.certificate_no),
        )
        await insert_messages(review.connection, [message], now)
        log.info("certificate_issued", person_id=holder.person_id, year=facts.year, basis=basis.value)
        return certificate

    async def _revoke(self, review: YearStanding, valid: Certificate, evaluation: Evaluation) -> None:
        now = self._clock()
        reason = revocation_reason(evaluation)
        if not await revoke_certificate(review.connection, valid.number, now, reason):
            return
        message = NewMessage(
            person_id=valid.person_id,
            kind=MessageKind.CERTIFICATE_REVOKED,
            title=f"{valid.year}年度培训合格证书已撤销",
            body=f"您的培训合格证书（编号 {valid.number}）已撤销：{reason}。",
            link=f"/verify/{valid.number}",
        )
        await insert_messages(review.connection, [message], now)
        log.info("certificate_revoked", person_id=valid.person_id, year=valid.year)

    async def _holder(self, person_id: PersonId) -> _Holder:
        person = await self._people.get(person_id)
        unit = await self._organisation.institution(person.unit_code)
        return _Holder(person_id=person.id, name=person.name, unit_name=unit.name)

    async def _document_key(self) -> LoadedKey:
        # Loaded before a review opens its transaction: on SQLite, reading the keys inside it would
        # wait for the review's own write lock.
        return await self._handoff.signing_key(KeyUse.DOCUMENT, DOCUMENT_ALGORITHM)


def revocation_reason(evaluation: Evaluation) -> str:
    """Why a year no longer meets its rules, in the words of the verification page."""
    parts = [
        f"{what}差{format_hours(missing)}学时"
        for what, missing in (
            ("总学时", evaluation.missing_total),
            ("公共科目", evaluation.missing_public),
            ("专业科目", evaluation.missing_professional),
        )
        if missing
    ]
    if evaluation.missing_topics:
        parts.append(f"缺必修内容 {'、'.join(evaluation.missing_topics)}")
    reason = f"有培训记录被撤销，{evaluation.rules.year}年度学时已不再达到要求（{'；'.join(parts)}）"
    return reason if len(reason) <= REASON_CHARACTERS_MAX else reason[: REASON_CHARACTERS_MAX - 1] + "…"


@asynccontextmanager
async def running_reviews(certificates: Certificates, ledger: Ledger) -> AsyncIterator[None]:
    """A worker that reviews due years until the context closes: ``SETTLE_SECONDS`` after an append
    of this process, and every ``SWEEP_SECONDS`` for appends of other processes.

    On closing, the review under way finishes (within ``STOP_GRACE_SECONDS``) and no other starts:
    a query cut off in the middle would outlive the engine it ran on.
    """
    stopping = asyncio.Event()

    async def review_forever() -> None:
        while not stopping.is_set():
            try:
                await certificates.review_due(stopping)
            # The worker outlives a round that could not even list what is due (the database is
            # down): the years stay due, and the next round comes after the next append or sweep.
            except Exception:
                log.exception("certificate_reviews_failed")
            await _first_of(ledger.wait_for_appends(SWEEP_SECONDS), stopping.wait())
            await _first_of(asyncio.sleep(SETTLE_SECONDS), stopping.wait())

    task = asyncio.create_task(review_forever(), name="certificate-reviews")
    try:
        yield
    finally:
        stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _first_of(*waits: Coroutine[Any, Any, object]) -> None:
    """Wait until one of ``waits`` is done; the others are cancelled."""
    tasks = [asyncio.create_task(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
