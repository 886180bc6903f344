"""Certificates on both databases: issued once when a year meets its rules, revoked when a reversal
drops it below, applied for with ticked records, and signed so that the JWKS alone verifies them."""

from __future__ import annotations

import asyncio
import json

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from ledger.model import DueEvaluation, PersonId, SequenceNumber
from sso.certificates.errors import CertificateNotFound, InvalidCertificateRequest, RequirementNotMet
from sso.certificates.model import (
    CertificateBasis,
    CertificateStatus,
    Decision,
    DownloaderKind,
    is_certificate_number,
)
from sso.messages.model import MessageKind, MessageQuery

from .conftest import BASE_URL, World


async def test_a_year_that_meets_its_rules_gets_one_certificate_and_its_person_a_message(world: World) -> None:
    person = await world.register()
    await world.meet_the_year(person)

    assert await world.certificates.review_due() == 1
    (item,) = await world.certificates.history(person)
    certificate = item.certificate
    assert is_certificate_number(certificate.number)
    assert certificate.number.startswith("2021-")
    assert (certificate.status, certificate.basis, certificate.name) == (
        CertificateStatus.VALID,
        CertificateBasis.AUTOMATIC,
        "欧阳娜娜",
    )
    assert certificate.facts.name_masked == "欧***"
    assert certificate.facts.hours() == {"total": "90.00", "public": "30.00", "professional": "60.00"}
    assert certificate.unit_name == "长沙市中心医院"
    page = await world.messages.page(person, MessageQuery())
    assert [(message.kind, message.read) for message in page.messages] == [(MessageKind.CERTIFICATE_ISSUED, False)]
    assert certificate.number in page.messages[0].body

    # More hours later: the year is reviewed again, and keeps its one certificate.
    await world.credit(person, "extra", "professional", "3")
    assert await world.certificates.review_due() == 1
    assert [item.certificate.number for item in await world.certificates.history(person)] == [certificate.number]
    assert await world.ledger.due_evaluations() == []


async def test_a_year_short_of_its_rules_gets_no_certificate(world: World) -> None:
    person = await world.register()
    entries = await world.meet_the_year(person)
    await world.reverse(entries[1].record_id, "DS-2021-01")  # the party-history course: 20 public hours and a topic

    await world.certificates.review_due()

    assert await world.certificates.history(person) == []
    assert (await world.messages.page(person, MessageQuery())).messages == ()


async def test_a_reversal_below_the_rules_revokes_the_certificate_and_tells_the_person(world: World) -> None:
    person = await world.register()
    entries = await world.meet_the_year(person)
    await world.certificates.review_due()
    (issued,) = await world.certificates.history(person)

    world.clock.advance(3600)
    await world.reverse(entries[2].record_id)  # 35.50 professional hours withdrawn
    await world.certificates.review_due()

    revoked = await world.certificates.find(issued.certificate.number)
    assert revoked.status is CertificateStatus.REVOKED
    assert revoked.revoked_at == world.clock.now
    assert revoked.revoked_reason is not None
    assert "专业科目差35.50学时" in revoked.revoked_reason
    page = await world.messages.page(person, MessageQuery())
    assert [message.kind for message in page.messages] == [
        MessageKind.CERTIFICATE_REVOKED,
        MessageKind.CERTIFICATE_ISSUED,
    ]
    assert page.unread == 2

    # Met again: a new certificate, with a number of its own; the revoked one stays revoked.
    await world.credit(person, "makeup", "professional", "36")
    await world.certificates.review_due()
    history = await world.certificates.history(person)
    assert [item.certificate.status for item in history] == [CertificateStatus.VALID, CertificateStatus.REVOKED]
    assert history[0].certificate.number != revoked.number


async def test_a_reversal_that_leaves_the_year_met_keeps_the_certificate(world: World) -> None:
    person = await world.register()
    await world.meet_the_year(person)
    await world.credit(person, "spare", "professional", "10")
    await world.certificates.review_due()

    await world.reverse("spare")
    await world.certificates.review_due()

    (item,) = await world.certificates.history(person)
    assert item.certificate.status is CertificateStatus.VALID


async def test_reviews_running_at_once_issue_one_certificate(world: World) -> None:
    person = await world.register()
    await world.meet_the_year(person)
    due = DueEvaluation(person, 2021, SequenceNumber(4))

    decisions = await asyncio.gather(*(world.certificates.review(due) for _ in range(4)))

    assert sorted(decisions) == [Decision.ISSUE, Decision.KEEP, Decision.KEEP, Decision.KEEP]
    assert len(await world.certificates.history(person)) == 1


async def test_a_met_year_of_someone_not_registered_is_dropped_from_the_reviews(world: World) -> None:
    await world.meet_the_year("somebody-unknown")
    due = DueEvaluation(PersonId("somebody-unknown"), 2021, SequenceNumber(4))

    assert await world.certificates.review(due) is None
    assert await world.ledger.due_evaluations() == []
    assert await world.certificates.history(PersonId("somebody-unknown")) == []


async def test_a_year_short_of_its_rules_is_settled_without_reading_its_person(world: World) -> None:
    await world.credit("somebody-unknown", "r-1", "public", "1")

    decision = await world.certificates.review(DueEvaluation(PersonId("somebody-unknown"), 2021, SequenceNumber(1)))

    assert decision is Decision.KEEP
    assert await world.ledger.due_evaluations() == []


async def test_the_signature_verifies_with_nothing_but_the_published_key_set(world: World) -> None:
    person = await world.register()
    await world.meet_the_year(person)
    await world.certificates.review_due()
    (item,) = await world.certificates.history(person)
    key_set = KeySet.import_key_set(json.loads(json.dumps(await world.handoff.jwks())))

    verified = jws.deserialize_compact(item.certificate.signature, key_set, algorithms=["Ed25519"])

    assert verified.headers()["typ"] == "hub-document+jws"
    assert json.loads(verified.payload) == {
        "type": "training-certificate",
        "certificate_no": item.certificate.number,
        "name_masked": "欧***",
        "year": 2021,
        "hours": {"total": "90.00", "public": "30.00", "professional": "60.00"},
        "issued_at": "2021-12-01T00:00:00+00:00",
        "issuer": BASE_URL,
    }


async def test_applying_with_records_that_meet_the_rules_issues_a_certificate_of_their_hours(world: World) -> None:
    person = await world.register()
    entries = await world.meet_the_year(person)
    await world.credit(person, "unticked", "professional", "5")

    issued = await world.certificates.apply(person, {"year": 2021, "entry_ids": [entry.seq for entry in entries]})
    again = await world.certificates.apply(person, {"year": 2021, "entry_ids": [entries[0].seq]})

    assert issued.created
    assert issued.certificate.basis is CertificateBasis.APPLIED
    assert issued.certificate.facts.hours()["total"] == "90.00"
    assert (again.created, again.certificate.number) == (False, issued.certificate.number)
    # The review that follows finds the year met and its certificate there.
    await world.certificates.review_due()
    assert len(await world.certificates.history(person)) == 1


async def test_applying_with_records_that_fall_short_says_exactly_what_is_missing(world: World) -> None:
    person, other = await world.register(), await world.register("张三")
    entries = await world.meet_the_year(person)
    others = await world.credit(other, "other-1", "public", "50")
    reversal = await world.reverse(entries[3].record_id, "GEN-02")

    with pytest.raises(RequirementNotMet) as refused:
        await world.certificates.apply(
            person,
            {"year": 2021, "entry_ids": [entries[0].seq, entries[3].seq, reversal.seq, others.seq, 999_999]},
        )

    errors = {error.field: error.message for error in refused.value.errors}
    assert errors == {
        "entry_ids[1]": "was reversed and no longer counts",
        "entry_ids[2]": "is the withdrawal of a record, not a record to count",
        "entry_ids[3]": "is not one of your training records of 2021",
        "entry_ids[4]": "is not one of your training records of 2021",
        "total": "80.00 more hours needed (required 90.00)",
        "public": "20.00 more hours needed (required 30.00)",
        "professional": "60.00 more hours needed (required 60.00)",
        "mandatory": "no completed course of: party_history",
    }
    assert refused.value.evaluation.earned.public == 1000
    assert await world.certificates.history(person) == []


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, ["year", "entry_ids"]),
        ({"year": "2021", "entry_ids": []}, ["year", "entry_ids"]),
        (
            {"year": 2021, "entry_ids": [1, 1, True, -3, "4"], "name": "x"},
            ["name", "entry_ids[1]", "entry_ids[2]", "entry_ids[3]", "entry_ids[4]"],
        ),
    ],
)
async def test_a_malformed_application_names_every_field_at_fault(
    world: World, form: dict[str, object], fields: list[str]
) -> None:
    person = await world.register()

    with pytest.raises(InvalidCertificateRequest) as refused:
        await world.certificates.apply(person, form)

    assert [error.field for error in refused.value.errors] == fields


async def test_a_download_renders_the_pdf_and_is_recorded_in_the_history(world: World) -> None:
    person = await world.register()
    await world.meet_the_year(person)
    await world.certificates.review_due()
    (item,) = await world.certificates.history(person)

    pdf = await world.certificates.download(item.certificate, DownloaderKind.OWNER)
    world.clock.advance(60)
    await world.certificates.download(item.certificate, DownloaderKind.SUPERVISOR, token_id=7)

    assert pdf.startswith(b"%PDF-")
    (item,) = await world.certificates.history(person)
    assert item.download_count == 2
    assert [(download.by, download.token_id) for download in item.downloads] == [
        (DownloaderKind.SUPERVISOR, 7),
        (DownloaderKind.OWNER, None),
    ]


@pytest.mark.parametrize("number", ["2021-AAAA-AAAA-AAAA-AAAA", "nonsense", "2021-aaaa-aaaa-aaaa-aaa0"])
async def test_a_number_no_certificate_has_is_not_found(world: World, number: str) -> None:
    with pytest.raises(CertificateNotFound):
        await world.certificates.find(number)


async def test_after_the_document_key_is_rotated_old_and_new_certificates_both_verify(world: World) -> None:
    first, second = await world.register(), await world.register("张三")
    await world.meet_the_year(first)
    await world.certificates.review_due()

    rotated = await world.handoff.rotate_document_key()
    await world.meet_the_year(second)
    await world.certificates.review_due()

    key_set = KeySet.import_key_set(json.loads(json.dumps(await world.handoff.jwks())))
    (old,), (new,) = await world.certificates.history(first), await world.certificates.history(second)
    old_kid = jws.deserialize_compact(old.certificate.signature, key_set, algorithms=["Ed25519"]).headers()["kid"]
    new_kid = jws.deserialize_compact(new.certificate.signature, key_set, algorithms=["Ed25519"]).headers()["kid"]
    assert new_kid == rotated.kid != old_kid
    document_kids = [key["kid"] for key in (await world.handoff.jwks())["keys"] if key["alg"] == "Ed25519"]
    assert document_kids == [old_kid, new_kid]
