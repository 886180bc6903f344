"""The handoff service on SQLite and PostgreSQL: keys on first use and rotation, consent, pairwise
subjects, the jwt-post launch, and the LTI login with its single-use message hint."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.database import create_engine
from ledger.model import PersonId
from sso.handoff.errors import (
    AuthorizationRefused,
    ConsentNotFound,
    HandoffUnavailable,
    InvalidConsentRequest,
    OidcError,
    UnknownVendor,
)
from sso.handoff.keys import PUBLISHED_AFTER_RETIREMENT_SECONDS
from sso.handoff.model import (
    ConsentNeeded,
    ConsentRecord,
    FormPost,
    KeyUse,
    Redirect,
    SharedField,
    SigningAlgorithm,
    Vendor,
    VendorAccount,
    fields_shared_with,
)
from sso.handoff.service import Handoff
from sso.handoff.store import SqlHandoffStore
from sso.handoff.subjects import pairwise_subject
from sso.handoff.tokens import REGISTRATION_CLAIM
from sso.personal_data import DataKeyring

from .conftest import CONFIG, DELAY_SECONDS, DETAILS, ISSUER, PERSON, Clock, verified_claims


def _kids(jwks: dict[str, list[dict[str, str]]]) -> dict[str, list[str]]:
    by_algorithm: dict[str, list[str]] = {}
    for key in jwks["keys"]:
        by_algorithm.setdefault(key["alg"], []).append(key["kid"])
    return by_algorithm


async def _jwt_post(handoff: Handoff, vendor: str, person: PersonId = PERSON) -> FormPost:
    outcome = await handoff.launch(person, vendor, DETAILS)
    assert isinstance(outcome, FormPost)
    return outcome


def _kid_of(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- keys


async def test_keys_are_made_on_first_use_once_even_by_two_processes_at_once(
    engine: AsyncEngine, keyring: DataKeyring, clock: Clock
) -> None:
    first = Handoff(SqlHandoffStore(engine), keyring, CONFIG, clock=clock)
    second = Handoff(SqlHandoffStore(engine), keyring, CONFIG, clock=clock)

    seen_first, seen_second = await asyncio.gather(first.jwks(), second.jwks())

    assert seen_first == seen_second == await first.jwks()
    assert {algorithm: len(kids) for algorithm, kids in _kids(seen_first).items()} == {
        "EdDSA": 1,
        "ES256": 1,
        "RS256": 1,
        "Ed25519": 1,
    }
    for key in seen_first["keys"]:
        assert key["use"] == "sig"
        assert {"kid", "kty", "alg", "use"} <= set(key)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_private_keys_are_stored_encrypted(handoff: Handoff, engine: AsyncEngine) -> None:
    await handoff.jwks()

    async with engine.connect() as connection:
        stored = (await connection.execute(text("SELECT private_key FROM handoff_signing_key"))).scalars().all()

    assert len(stored) == 4
    assert all(value.startswith("v1.") and '"d"' not in value for value in stored)


async def test_each_vendor_gets_tokens_of_its_configured_algorithm(handoff: Handoff, clock: Clock) -> None:
    for vendor in ("ischinese", "webtrn"):
        await handoff.give_consent(PERSON, vendor)
    jwks = await handoff.jwks()

    ischinese = (await _jwt_post(handoff, "ischinese")).fields["id_token"]
    webtrn = (await _jwt_post(handoff, "webtrn")).fields["id_token"]

    assert _kid_of(ischinese) in _kids(jwks)["EdDSA"]
    assert _kid_of(webtrn) in _kids(jwks)["ES256"]
    assert verified_claims(ischinese, jwks, "EdDSA", clock.now)["aud"] == "ischinese"
    assert verified_claims(webtrn, jwks, "ES256", clock.now)["aud"] == "webtrn"


async def test_rotation_announces_a_key_that_signs_only_after_the_delay(handoff: Handoff, clock: Clock) -> None:
    await handoff.give_consent(PERSON, "ischinese")
    before = (await _jwt_post(handoff, "ischinese")).fields["id_token"]
    old_kid = _kid_of(before)

    new_records = await handoff.rotate_keys()
    announced = await handoff.jwks()

    new_kids = {record.algorithm: record.kid for record in new_records}
    assert set(new_kids) == {SigningAlgorithm.EDDSA, SigningAlgorithm.ES256, SigningAlgorithm.RS256}
    assert _kids(announced)["EdDSA"] == [old_kid, new_kids[SigningAlgorithm.EDDSA]]
    assert verified_claims(before, announced, "EdDSA", clock.now)["aud"] == "ischinese"

    clock.advance(DELAY_SECONDS - 1)
    assert _kid_of((await _jwt_post(handoff, "ischinese")).fields["id_token"]) == old_kid
    assert (await handoff.signing_key(KeyUse.HANDOFF, SigningAlgorithm.RS256)).record.generation == 1

    clock.advance(1)
    last_of_old = clock.now
    after = (await _jwt_post(handoff, "ischinese")).fields["id_token"]
    assert _kid_of(after) == new_kids[SigningAlgorithm.EDDSA]
    assert (await handoff.signing_key(KeyUse.HANDOFF, SigningAlgorithm.RS256)).record.generation == 2

    clock.advance(PUBLISHED_AFTER_RETIREMENT_SECONDS - 1)
    assert old_kid in _kids(await handoff.jwks())["EdDSA"]
    clock.now = last_of_old
    clock.advance(PUBLISHED_AFTER_RETIREMENT_SECONDS)
    assert _kids(await handoff.jwks())["EdDSA"] == [new_kids[SigningAlgorithm.EDDSA]]


async def test_document_keys_stay_published_for_good(handoff: Handoff, clock: Clock) -> None:
    document_kid = _kids(await handoff.jwks())["Ed25519"]
    signature = await handoff.sign_document(b"manifest")

    await handoff.rotate_keys()
    clock.advance(10 * 365 * 86_400)

    assert _kids(await handoff.jwks())["Ed25519"] == document_kid
    assert _kid_of(signature) == document_kid[0]


async def test_rotations_at_once_in_two_processes_both_take_effect_in_turn(
    engine: AsyncEngine, keyring: DataKeyring, clock: Clock
) -> None:
    first = Handoff(SqlHandoffStore(engine), keyring, CONFIG, clock=clock)
    second = Handoff(SqlHandoffStore(engine), keyring, CONFIG, clock=clock)
    await first.jwks()

    await asyncio.gather(first.rotate_keys(), second.rotate_keys())

    assert len(_kids(await first.jwks())["RS256"]) == 3
    clock.advance(DELAY_SECONDS)
    assert (await first.signing_key(KeyUse.HANDOFF, SigningAlgorithm.RS256)).record.generation == 3


# ---------------------------------------------------------------- consent


async def test_no_launch_without_consent_and_the_page_lists_what_is_shared(handoff: Handoff) -> None:
    ischinese = await handoff.launch(PERSON, "ischinese", DETAILS)
    hnou = await handoff.launch(PERSON, "hnou", DETAILS)

    assert ischinese == ConsentNeeded(Vendor.ISCHINESE, "思想天下", fields_shared_with(Vendor.ISCHINESE))
    assert isinstance(hnou, ConsentNeeded)
    assert SharedField.ID_NUMBER in hnou.fields
    assert SharedField.ID_NUMBER not in ischinese.fields
    assert await handoff.resolve_subject(Vendor.ISCHINESE, "anything") is None


async def test_consent_is_recorded_listed_and_withdrawn(handoff: Handoff, clock: Clock) -> None:
    given = await handoff.give_consent(PERSON, "hnou")
    await handoff.give_consent(PERSON, "ischinese")

    assert (given.vendor, given.fields, given.given_at) == (Vendor.HNOU, fields_shared_with(Vendor.HNOU), clock.now)
    assert [consent.vendor for consent in await handoff.consents(PERSON)] == [Vendor.HNOU, Vendor.ISCHINESE]
    assert await handoff.consents(PersonId("someone-else")) == []

    await handoff.withdraw_consent(PERSON, "ischinese")
    assert [consent.vendor for consent in await handoff.consents(PERSON)] == [Vendor.HNOU]
    assert isinstance(await handoff.launch(PERSON, "ischinese", DETAILS), ConsentNeeded)
    with pytest.raises(ConsentNotFound):
        await handoff.withdraw_consent(PERSON, "ischinese")

    clock.advance(60)
    again = await handoff.give_consent(PERSON, "ischinese")
    assert again.given_at == clock.now
    assert isinstance(await handoff.launch(PERSON, "ischinese", DETAILS), FormPost)


async def test_two_consents_at_once_leave_one(handoff: Handoff) -> None:
    await asyncio.gather(*(handoff.give_consent(PERSON, "webtrn") for _ in range(4)))

    assert [consent.vendor for consent in await handoff.consents(PERSON)] == [Vendor.WEBTRN]


@pytest.mark.parametrize("vendor", [None, "", "moodle", 42, "ISCHINESE"])
async def test_consent_to_an_unknown_vendor_names_the_field(handoff: Handoff, vendor: object) -> None:
    with pytest.raises(InvalidConsentRequest) as refused:
        await handoff.give_consent(PERSON, vendor)

    assert [error.field for error in refused.value.errors] == ["vendor"]


async def test_an_unknown_vendor_is_unknown_everywhere(handoff: Handoff) -> None:
    with pytest.raises(UnknownVendor):
        await handoff.launch(PERSON, "moodle", DETAILS)
    with pytest.raises(UnknownVendor):
        await handoff.withdraw_consent(PERSON, "moodle")


# ---------------------------------------------------------------- pairwise subjects


async def test_subjects_are_stable_per_vendor_and_resolve_to_the_person(handoff: Handoff, clock: Clock) -> None:
    other = PersonId("person-0002")
    for vendor in ("ischinese", "webtrn"):
        await handoff.give_consent(PERSON, vendor)
        await handoff.give_consent(other, vendor)
    jwks = await handoff.jwks()

    def subject_of(form: FormPost, algorithm: str) -> str:
        return str(verified_claims(form.fields["id_token"], jwks, algorithm, clock.now)["sub"])

    first = subject_of(await _jwt_post(handoff, "ischinese"), "EdDSA")
    second = subject_of(await _jwt_post(handoff, "ischinese"), "EdDSA")
    at_webtrn = subject_of(await _jwt_post(handoff, "webtrn"), "ES256")
    someone_else = subject_of(await _jwt_post(handoff, "ischinese", other), "EdDSA")

    assert first == second
    assert len({first, at_webtrn, someone_else}) == 3
    assert DETAILS.id_number not in first
    assert await handoff.resolve_subject(Vendor.ISCHINESE, first) == PERSON
    assert await handoff.resolve_subject(Vendor.WEBTRN, first) is None
    assert await handoff.resolve_subject(Vendor.WEBTRN, at_webtrn) == PERSON
    assert pairwise_subject(DataKeyring.generate(), PERSON, Vendor.ISCHINESE) != first  # it takes the hub's secret
    assert await handoff.record_vendor_account(Vendor.ISCHINESE, first, "isc-778") is True
    assert await handoff.vendor_account_of("ischinese", first) == "isc-778"
    assert await handoff.vendor_account_of("webtrn", at_webtrn) is None
    assert await handoff.record_vendor_account(Vendor.ISCHINESE, "0" * 64, "isc-779") is False
    assert await handoff.record_vendor_account("moodle", first, "isc-780") is False
    assert await handoff.resolve_subject("ischinese", first) == PERSON
    assert await handoff.resolve_subject("moodle", first) is None
    assert await handoff.resolve_subject("ischinese", "short") is None
    with pytest.raises(ValueError, match="at most 200"):
        await handoff.record_vendor_account(Vendor.ISCHINESE, first, "x" * 201)


async def test_a_person_lists_their_vendor_accounts_and_every_consent_they_gave(handoff: Handoff, clock: Clock) -> None:
    other = PersonId("person-0002")
    for person in (PERSON, other):
        for vendor in ("ischinese", "webtrn"):
            await handoff.give_consent(person, vendor)
    launched_at = clock.now
    ischinese = await handoff.subject_for(PERSON, Vendor.ISCHINESE)
    clock.advance(60)
    webtrn = await handoff.subject_for(PERSON, Vendor.WEBTRN)
    others = await handoff.subject_for(other, Vendor.ISCHINESE)
    await handoff.record_vendor_account(Vendor.ISCHINESE, ischinese, "isc-778")
    await handoff.record_vendor_account(Vendor.ISCHINESE, others, "isc-779")
    await handoff.withdraw_consent(PERSON, "webtrn")

    accounts = await handoff.vendor_accounts(PERSON)
    consents = await handoff.consent_records(PERSON)

    assert accounts == [
        VendorAccount(Vendor.ISCHINESE, ischinese, launched_at, "isc-778"),
        VendorAccount(Vendor.WEBTRN, webtrn, launched_at + timedelta(seconds=60), None),
    ]
    assert [(record.consent.vendor, record.withdrawn_at) for record in consents] == [
        (Vendor.ISCHINESE, None),
        (Vendor.WEBTRN, clock.now),
    ]
    assert all(isinstance(record, ConsentRecord) and record.consent.person_id == PERSON for record in consents)
    assert [account.account_id for account in await handoff.vendor_accounts(other)] == ["isc-779"]
    assert await handoff.vendor_accounts(PersonId("person-0003")) == []
    assert await handoff.consent_records(PersonId("person-0003")) == []


# ---------------------------------------------------------------- LTI


async def _lti_login(handoff: Handoff) -> dict[str, str]:
    await handoff.give_consent(PERSON, "hnou")
    redirect = await handoff.launch(PERSON, "hnou", DETAILS)
    assert isinstance(redirect, Redirect)
    location = urlsplit(redirect.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:9003/lti/login"
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert set(query) == {"iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id"}
    assert (query["iss"], query["client_id"], query["lti_deployment_id"]) == (ISSUER, "hub-client", "hub-deployment-1")
    assert query["target_link_uri"] == "http://127.0.0.1:9003/lti/launch"
    return query


def _authorization(login: dict[str, str], **changes: str) -> dict[str, str]:
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": "http://127.0.0.1:9003/lti/launch",
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "state": "state-1",
        "nonce": "nonce-1",
        **changes,
    }


async def test_the_lti_login_ends_in_a_form_post_of_the_launch(handoff: Handoff, clock: Clock) -> None:
    login = await _lti_login(handoff)

    grant = await handoff.authorize(_authorization(login))
    answer = await handoff.lti_launch(grant, DETAILS)

    assert grant.person_id == PERSON
    assert answer.action == "http://127.0.0.1:9003/lti/launch"
    assert set(answer.fields) == {"id_token", "state"}
    assert answer.fields["state"] == "state-1"
    claims = verified_claims(answer.fields["id_token"], await handoff.jwks(), "RS256", clock.now)
    assert (claims["aud"], claims["nonce"]) == ("hub-client", "nonce-1")
    assert claims[REGISTRATION_CLAIM]["id_number"] == DETAILS.id_number
    assert await handoff.resolve_subject(Vendor.HNOU, claims["sub"]) == PERSON


async def test_a_message_hint_is_single_use(handoff: Handoff) -> None:
    login = await _lti_login(handoff)
    await handoff.authorize(_authorization(login))

    with pytest.raises(AuthorizationRefused) as refused:
        await handoff.authorize(_authorization(login, nonce="nonce-2"))

    assert refused.value.error is OidcError.LOGIN_REQUIRED
    assert refused.value.state == "state-1"


async def test_a_message_hint_expires_after_five_minutes(handoff: Handoff, clock: Clock) -> None:
    login = await _lti_login(handoff)
    clock.advance(300)

    with pytest.raises(AuthorizationRefused) as refused:
        await handoff.authorize(_authorization(login))

    assert refused.value.error is OidcError.LOGIN_REQUIRED


async def test_a_hint_that_was_never_issued_or_another_login_hint_is_refused(handoff: Handoff) -> None:
    login = await _lti_login(handoff)

    with pytest.raises(AuthorizationRefused):
        await handoff.authorize(_authorization(login, lti_message_hint="made-up"))
    with pytest.raises(AuthorizationRefused):
        await handoff.authorize(_authorization(login, login_hint="someone-else"))


async def test_of_two_requests_with_one_hint_exactly_one_is_granted(handoff: Handoff) -> None:
    login = await _lti_login(handoff)

    results = await asyncio.gather(
        *(handoff.authorize(_authorization(login)) for _ in range(3)), return_exceptions=True
    )

    assert sum(not isinstance(result, BaseException) for result in results) == 1
    assert all(isinstance(result, AuthorizationRefused) for result in results if isinstance(result, BaseException))


async def test_a_consent_withdrawn_during_the_login_gets_no_token(handoff: Handoff) -> None:
    login = await _lti_login(handoff)
    grant = await handoff.authorize(_authorization(login))
    await handoff.withdraw_consent(PERSON, "hnou")

    with pytest.raises(AuthorizationRefused) as refused:
        await handoff.lti_launch(grant, DETAILS)

    assert refused.value.error is OidcError.CONSENT_REQUIRED


# ---------------------------------------------------------------- failures and personal data


async def test_an_unreachable_database_is_handoff_unavailable(keyring: DataKeyring) -> None:
    engine = create_engine("postgresql+asyncpg://nobody:s3cr3t@127.0.0.1:1/none")
    handoff = Handoff(SqlHandoffStore(engine), keyring, CONFIG)
    try:
        with pytest.raises(HandoffUnavailable) as unavailable:
            await handoff.jwks()
    finally:
        await engine.dispose()

    assert "s3cr3t" not in str(unavailable.value)


async def test_the_database_holds_no_personal_data_after_launches(handoff: Handoff, engine: AsyncEngine) -> None:
    for vendor in ("ischinese", "webtrn"):
        await handoff.give_consent(PERSON, vendor)
        await _jwt_post(handoff, vendor)
    login = await _lti_login(handoff)
    await handoff.lti_launch(await handoff.authorize(_authorization(login)), DETAILS)

    dump = []
    async with engine.connect() as connection:
        for table in ("handoff_signing_key", "handoff_subject", "handoff_consent", "handoff_message_hint"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
            dump.extend(str(value) for row in rows for value in row)

    everything = " ".join(dump)
    for secret in (DETAILS.id_number, DETAILS.phone, DETAILS.email, DETAILS.name, login["lti_message_hint"]):
        assert secret not in everything
