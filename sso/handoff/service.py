"""The handoff's use cases: consent, pairwise subjects, the launch to each vendor, the LTI
authorization endpoint, and the signing keys behind them (first use, rotation, the JWKS).

A launch goes: consent (or the page asking for it) → the person's subject at the vendor, recorded
at the first launch → a signed ``id_token`` to POST to the vendor (jwt-post), or a single-use
message hint and a redirect to the tool's login (LTI), whose authorization request later gets the
``id_token``. Nothing here touches the ledger.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from ledger.errors import FieldError
from ledger.model import PersonId
from sso.handoff.errors import (
    AuthorizationRefused,
    ConsentNotFound,
    InvalidConsentRequest,
    OidcError,
    UnknownVendor,
)
from sso.handoff.keys import LoadedKey, generate_key, load_private_key, published_records, signing_record
from sso.handoff.lti import AuthorizationRequest, check_authorization_request
from sso.handoff.model import (
    DOCUMENT_ALGORITHM,
    HANDOFF_ALGORITHMS,
    MESSAGE_HINT_TTL_SECONDS,
    SIGNING_KEY_CACHE_SECONDS,
    Consent,
    ConsentNeeded,
    ConsentRecord,
    FormPost,
    HandoffConfig,
    JwtPostVendor,
    KeyUse,
    LaunchOutcome,
    LtiVendor,
    PairwiseSubject,
    Redirect,
    SharedDetails,
    SigningAlgorithm,
    SigningKeyRecord,
    Vendor,
    VendorAccount,
    VendorLink,
    fields_shared_with,
)
from sso.handoff.store import GenerationTaken, MessageHint, NewSigningKey, SqlHandoffStore, StoredKey
from sso.handoff.subjects import SUBJECT_CHARACTERS, pairwise_subject
from sso.handoff.tables import VENDOR_ACCOUNT_ID_CHARACTERS_MAX
from sso.handoff.tokens import handoff_claims, lti_launch_claims, sign_document, sign_token
from sso.personal_data import DataKeyring

__all__ = ["AuthorizationGrant", "Clock", "Handoff", "utc_now"]

Clock = Callable[[], datetime]
PRIVATE_KEY_CONTEXT: Final = "handoff.signing_key"
ROTATION_ATTEMPTS_MAX: Final = 5
CLOCK_SKEW_SECONDS_MAX: Final = 300
MESSAGE_HINT_BYTES: Final = 32
LOGIN_HINT_BYTES: Final = 16
TOKEN_ID_BYTES: Final = 18
KEY_USES: Final = (
    *((KeyUse.HANDOFF, algorithm) for algorithm in HANDOFF_ALGORITHMS),
    (KeyUse.DOCUMENT, DOCUMENT_ALGORITHM),
)
"""Every (use, algorithm) that always has a key: created on first use."""


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuthorizationGrant:
    """A valid LTI authorization request and the launch its message hint named."""

    request: AuthorizationRequest
    person_id: PersonId
    launch_id: str


@dataclass(frozen=True, slots=True)
class _KeyCache:
    loaded_at: datetime
    keys: tuple[LoadedKey, ...]


class Handoff:
    """The SSO handoff of staff to the configured vendors."""

    def __init__(
        self, store: SqlHandoffStore, keyring: DataKeyring, config: HandoffConfig, *, clock: Clock = utc_now
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._config = config
        self._clock = clock
        self._cache: _KeyCache | None = None

    @property
    def config(self) -> HandoffConfig:
        """The issuer, the configured vendors and the key schedule."""
        return self._config

    def vendor_link(self, code: str) -> VendorLink:
        """How the vendor with this code is reached. Raises ``UnknownVendor`` for any other code."""
        try:
            vendor = Vendor(code)
        except ValueError:
            raise UnknownVendor from None
        link = self._config.vendors.get(vendor)
        if link is None:
            raise UnknownVendor
        return link

    # ------------------------------------------------------------ consent

    async def give_consent(self, person_id: PersonId, vendor_code: object) -> Consent:
        """Record the person's consent to share what the vendor receives, now.

        Raises ``InvalidConsentRequest`` when ``vendor_code`` is not a configured vendor's code.
        """
        link = self._link_in_request(vendor_code)
        consent = Consent(
            person_id=person_id,
            vendor=link.vendor,
            fields=fields_shared_with(link.vendor),
            given_at=self._clock(),
        )
        await self._store.save_consent(consent)
        return consent

    async def consents(self, person_id: PersonId) -> list[Consent]:
        """The person's standing consents, by vendor code."""
        return await self._store.consents(person_id)

    async def consent_records(self, person_id: PersonId) -> list[ConsentRecord]:
        """Every consent the person gave, standing or withdrawn, by vendor code: what the hub keeps of them."""
        return await self._store.consent_records(person_id)

    async def withdraw_consent(self, person_id: PersonId, vendor_code: str) -> None:
        """Withdraw the consent; the next launch asks again.

        Raises ``UnknownVendor`` for a code that is not configured and ``ConsentNotFound`` when the
        person has no standing consent for the vendor.
        """
        link = self.vendor_link(vendor_code)
        if not await self._store.withdraw_consent(person_id, link.vendor, self._clock()):
            raise ConsentNotFound

    def _link_in_request(self, vendor_code: object) -> VendorLink:
        if not isinstance(vendor_code, str) or not vendor_code:
            raise InvalidConsentRequest([FieldError("vendor", "is required: a vendor code")])
        try:
            return self.vendor_link(vendor_code)
        except UnknownVendor:
            configured = ", ".join(sorted(vendor.value for vendor in self._config.vendors))
            message = f"must be one of the configured vendors: {configured}"
            raise InvalidConsentRequest([FieldError("vendor", message)]) from None

    # ------------------------------------------------------------ launches

    async def launch(self, person_id: PersonId, vendor_code: str, details: SharedDetails) -> LaunchOutcome:
        """Hand the person over to the vendor: what the browser is to do next.

        Without a standing consent that covers what the vendor receives, the answer is
        ``ConsentNeeded``. Raises ``UnknownVendor`` for a code that is not configured.
        """
        link = self.vendor_link(vendor_code)
        consent = await self._store.consent(person_id, link.vendor)
        if consent is None or not consent.covers(link.vendor):
            return ConsentNeeded(vendor=link.vendor, vendor_name=link.name, fields=fields_shared_with(link.vendor))
        subject = await self.subject_for(person_id, link.vendor)
        if isinstance(link, LtiVendor):
            return await self._initiate_lti_login(person_id, link)
        return await self._jwt_post(link, subject, details)

    async def _jwt_post(self, link: JwtPostVendor, subject: PairwiseSubject, details: SharedDetails) -> FormPost:
        claims = handoff_claims(
            issuer=self._config.issuer,
            vendor=link.vendor,
            subject=subject,
            details=details,
            issued_at=self._clock(),
            token_id=secrets.token_urlsafe(TOKEN_ID_BYTES),
        )
        token = sign_token(await self.signing_key(KeyUse.HANDOFF, link.algorithm), claims)
        return FormPost(action=link.launch_url, fields={"id_token": token})

    async def _initiate_lti_login(self, person_id: PersonId, link: LtiVendor) -> Redirect:
        message_hint = secrets.token_urlsafe(MESSAGE_HINT_BYTES)
        login_hint = secrets.token_urlsafe(LOGIN_HINT_BYTES)
        now = self._clock()
        await self._store.add_message_hint(
            MessageHint(
                digest=_digest(message_hint),
                launch_id=uuid.uuid4().hex,
                person_id=person_id,
                vendor=link.vendor,
                login_hint=login_hint,
                issued_at=now,
                expires_at=now + timedelta(seconds=MESSAGE_HINT_TTL_SECONDS),
            )
        )
        parameters = {
            "iss": self._config.issuer,
            "login_hint": login_hint,
            "target_link_uri": link.target_link_uri,
            "lti_message_hint": message_hint,
            "client_id": link.client_id,
            "lti_deployment_id": link.deployment_id,
        }
        separator = "&" if "?" in link.login_url else "?"
        return Redirect(location=f"{link.login_url}{separator}{urlencode(parameters)}")

    # ------------------------------------------------------------ the LTI authorization endpoint

    async def authorize(self, parameters: Mapping[str, str]) -> AuthorizationGrant:
        """Check an LTI authorization request and use up the message hint it presents.

        Raises ``UntrustedRedirect`` for an unknown client or an unregistered redirect_uri, and
        ``AuthorizationRefused`` for anything else at fault, including a hint that the hub did not
        issue, that expired, that was used before, or whose login_hint differs.
        """
        request = check_authorization_request(parameters, self._lti_link())
        hint = await self._store.take_message_hint(_digest(request.message_hint), self._clock())
        if hint is None or hint.vendor is not request.link.vendor:
            raise _refusal(request, OidcError.LOGIN_REQUIRED, "lti_message_hint is unknown, expired or used")
        if not secrets.compare_digest(hint.login_hint, request.login_hint):
            raise _refusal(request, OidcError.LOGIN_REQUIRED, "login_hint is not the one of this launch")
        return AuthorizationGrant(request=request, person_id=hint.person_id, launch_id=hint.launch_id)

    async def lti_launch(self, grant: AuthorizationGrant, details: SharedDetails) -> FormPost:
        """The answer to a granted request: a form POST of ``id_token`` and ``state`` to its redirect_uri.

        Raises ``AuthorizationRefused`` when the person withdrew their consent since the launch.
        """
        request = grant.request
        link = request.link
        consent = await self._store.consent(grant.person_id, link.vendor)
        if consent is None or not consent.covers(link.vendor):
            raise _refusal(request, OidcError.CONSENT_REQUIRED, "the person has not consented to this handoff")
        claims = lti_launch_claims(
            issuer=self._config.issuer,
            link=link,
            subject=await self.subject_for(grant.person_id, link.vendor),
            details=details,
            nonce=request.nonce,
            issued_at=self._clock(),
            token_id=secrets.token_urlsafe(TOKEN_ID_BYTES),
        )
        token = sign_token(await self.signing_key(KeyUse.HANDOFF, link.algorithm), claims)
        fields = {"id_token": token} if request.state is None else {"id_token": token, "state": request.state}
        return FormPost(action=request.redirect_uri, fields=fields)

    def _lti_link(self) -> LtiVendor | None:
        links = [link for link in self._config.vendors.values() if isinstance(link, LtiVendor)]
        return links[0] if links else None

    # ------------------------------------------------------------ pairwise subjects

    async def subject_for(self, person_id: PersonId, vendor: Vendor) -> PairwiseSubject:
        """The person's ``sub`` at the vendor; recorded, so that it can be resolved, on first use."""
        subject = pairwise_subject(self._keyring, person_id, vendor)
        await self._store.link_subject(person_id, vendor, subject, self._clock())
        return subject

    async def resolve_subject(self, vendor: str, subject: str) -> PersonId | None:
        """The person the hub handed over to the vendor (a code) under ``subject``; None for a subject
        it never issued there, or a vendor it does not know."""
        known = _vendor_or_none(vendor)
        if known is None or len(subject) != SUBJECT_CHARACTERS:
            return None
        return await self._store.person_for_subject(known, subject)

    async def record_vendor_account(self, vendor: str, subject: str, account_id: str) -> bool:
        """Note the vendor's own account id for a subject (``account.linked``); False for a subject the
        hub never issued there. Raises ``ValueError`` for an account id over 200 characters."""
        if len(account_id) > VENDOR_ACCOUNT_ID_CHARACTERS_MAX:
            raise ValueError(f"a vendor's account id has at most {VENDOR_ACCOUNT_ID_CHARACTERS_MAX} characters")
        known = _vendor_or_none(vendor)
        if known is None or len(subject) != SUBJECT_CHARACTERS:
            return False
        return await self._store.set_vendor_account(known, subject, account_id)

    async def vendor_accounts(self, person_id: PersonId) -> list[VendorAccount]:
        """How each vendor the person was handed over to knows them: the subject, and the vendor's
        account id once told; by vendor code."""
        return await self._store.vendor_accounts(person_id)

    async def vendor_account_of(self, vendor: str, subject: str) -> str | None:
        """The vendor's own account id for a subject, once the vendor has told it."""
        known = _vendor_or_none(vendor)
        return None if known is None else await self._store.vendor_account_of(known, subject)

    # ------------------------------------------------------------ signing keys

    async def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set to publish: public parts only, read afresh from the store."""
        stored = await self._stored_keys()
        records = published_records((key.record for key in stored), self._clock())
        return {"keys": [dict(record.public_jwk) for record in records]}

    async def signing_key(self, use: KeyUse, algorithm: SigningAlgorithm) -> LoadedKey:
        """The key that signs for this use and algorithm now."""
        now = self._clock()
        cache = self._cache
        if cache is None or not timedelta(0) <= now - cache.loaded_at < timedelta(seconds=SIGNING_KEY_CACHE_SECONDS):
            cache = await self._load_keys(now)
        chosen = signing_record((key.record for key in cache.keys), use, algorithm, now)
        if chosen is None:
            raise RuntimeError(f"no {use.value} key signs with {algorithm.value} now")
        return next(key for key in cache.keys if key.record.kid == chosen.kid)

    async def sign_document(self, payload: bytes) -> str:
        """A compact JWS of ``payload`` by the current document-signing key (typ hub-document+jws)."""
        return sign_document(await self.signing_key(KeyUse.DOCUMENT, DOCUMENT_ALGORITHM), payload)

    async def rotate_keys(self) -> list[SigningKeyRecord]:
        """Add a new handoff key per algorithm that signs only after the activation delay; each
        predecessor signs until then. Returns the new keys' records."""
        await self._stored_keys()
        for _attempt in range(ROTATION_ATTEMPTS_MAX):
            successors = await self._successors(await self._store.signing_keys())
            try:
                await self._store.add_successors(successors)
            except GenerationTaken:
                continue  # another process rotated at the same moment: succeed its keys instead
            self._cache = None
            return [successor.record for successor in successors]
        raise RuntimeError(f"key rotation lost {ROTATION_ATTEMPTS_MAX} races in a row")

    async def rotate_document_key(self) -> SigningKeyRecord:
        """Add a new document-signing key that signs from now on, and retire its predecessor now.

        A document's signature is checked against the JWKS when someone verifies it, so the new key
        needs no announcement; every document-signing key stays published for good, so what the old
        one signed still verifies. Another process may sign with the old key until its key cache
        expires (``SIGNING_KEY_CACHE_SECONDS``). Returns the new key's record.
        """
        await self._stored_keys()
        for _attempt in range(ROTATION_ATTEMPTS_MAX):
            generations = [
                key.record.generation
                for key in await self._store.signing_keys()
                if key.record.use is KeyUse.DOCUMENT and key.record.algorithm is DOCUMENT_ALGORITHM
            ]
            successor = await self._new_key(
                KeyUse.DOCUMENT, DOCUMENT_ALGORITHM, max(generations, default=0) + 1, self._clock()
            )
            try:
                await self._store.add_successors([successor])
            except GenerationTaken:
                continue  # another process rotated at the same moment: succeed its key instead
            self._cache = None
            return successor.record
        raise RuntimeError(f"document key rotation lost {ROTATION_ATTEMPTS_MAX} races in a row")

    async def _successors(self, stored: list[StoredKey]) -> list[NewSigningKey]:
        now = self._clock()
        activates_at = now + timedelta(seconds=self._config.key_activation_delay_seconds)
        successors = []
        for algorithm in HANDOFF_ALGORITHMS:
            generations = [
                key.record.generation
                for key in stored
                if key.record.use is KeyUse.HANDOFF and key.record.algorithm is algorithm
            ]
            new = await self._new_key(KeyUse.HANDOFF, algorithm, max(generations, default=0) + 1, now)
            successors.append(replace(new, record=replace(new.record, activates_at=activates_at)))
        return successors

    async def _load_keys(self, now: datetime) -> _KeyCache:
        """Decrypt the keys that sign now or later; those retired already never sign again."""
        stored = await self._stored_keys()
        keys = tuple(
            load_private_key(self._keyring.decrypt(key.encrypted_private_key, context=PRIVATE_KEY_CONTEXT), key.record)
            for key in stored
            if key.record.retired_at is None or key.record.retired_at > now
        )
        self._cache = _KeyCache(loaded_at=now, keys=keys)
        return self._cache

    async def _stored_keys(self) -> list[StoredKey]:
        """Every stored key, after creating the first key of any use and algorithm that has none."""
        stored = await self._store.signing_keys()
        present = {(key.record.use, key.record.algorithm) for key in stored}
        missing = [pair for pair in KEY_USES if pair not in present]
        if not missing:
            return stored
        for use, algorithm in missing:
            now = self._clock()
            first = await self._new_key(use, algorithm, 1, now)
            # A first key signs at once, also in a process whose clock runs a little behind this one's.
            activates_at = now - timedelta(seconds=CLOCK_SKEW_SECONDS_MAX)
            try:
                await self._store.add_key(replace(first, record=replace(first.record, activates_at=activates_at)))
            except GenerationTaken:
                continue  # another process created it first: use theirs
        return await self._store.signing_keys()

    async def _new_key(self, use: KeyUse, algorithm: SigningAlgorithm, generation: int, now: datetime) -> NewSigningKey:
        # RSA key generation takes tens of milliseconds: keep it off the event loop.
        generated = await asyncio.to_thread(generate_key, algorithm)
        record = SigningKeyRecord(
            kid=generated.kid,
            use=use,
            algorithm=algorithm,
            generation=generation,
            created_at=now,
            activates_at=now,
            retired_at=None,
            public_jwk=generated.public_jwk,
        )
        encrypted = self._keyring.encrypt(generated.private_text, context=PRIVATE_KEY_CONTEXT)
        return NewSigningKey(record=record, encrypted_private_key=encrypted)


def _vendor_or_none(code: str) -> Vendor | None:
    try:
        return Vendor(code)
    except ValueError:
        return None


def _digest(hint: str) -> str:
    return hashlib.sha256(hint.encode("utf-8")).hexdigest()


def _refusal(request: AuthorizationRequest, error: OidcError, description: str) -> AuthorizationRefused:
    return AuthorizationRefused(error, description, redirect_uri=request.redirect_uri, state=request.state)
