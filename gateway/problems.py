"""RFC 9457 problem details: the one table from errors to answers, and the middleware that uses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiohttp import hdrs, web

from adapters.errors import BodyTooLarge, DeliveryInvalid, SignatureRefused
from adapters.ingestion.errors import IngestionUnavailable, InvalidEventQuery
from adapters.quarantine.errors import (
    InvalidQuarantineRequest,
    PersonStillUnknown,
    RecordStillInvalid,
    VendorNotConfigured,
)
from adapters.webtrn.errors import PullFailed
from gateway.bearer import BearerTokenInvalid, BearerTokenRequired
from gateway.sessions import SessionRequired
from ledger.errors import (
    EntryNotCurrent,
    ExportNotFound,
    FieldError,
    HoldAlreadyDecided,
    HoldNotFound,
    InvalidCommand,
    LedgerError,
    LedgerUnavailable,
    NoRulesForYear,
)
from ledger.reconciliation.errors import (
    AlreadyResolved,
    DiscrepancyNotFound,
    InvalidReconciliationRequest,
    LedgerMovedOn,
    ReconciliationRunning,
    ReconciliationUnavailable,
    RunNotFound,
    VendorReadFailed,
)
from sso.access.errors import InvalidAccessRequest, OutOfReach, ResetLinkInvalid, TokenNotFound
from sso.certificates.errors import (
    CertificateFontMissing,
    CertificateNotFound,
    InvalidCertificateRequest,
    RequirementNotMet,
)
from sso.errors import IdentityError
from sso.handoff.errors import ConsentNotFound, HandoffUnavailable, InvalidConsentRequest, UnknownVendor
from sso.messages.errors import InvalidMessageQuery, MessageNotFound
from sso.people.errors import AuthenticationFailed, IdNumberTaken, InvalidPersonData, LoginLocked, PersonNotFound
from supervision.errors import (
    FeedbackAlreadyAnswered,
    FeedbackLimitReached,
    FeedbackNotFound,
    InvalidSupervisionRequest,
    NoticeLimitReached,
    SupervisionError,
)
from trainings.errors import (
    AttendanceNotOpen,
    FileRefused,
    FileTooLarge,
    FilingAlreadyDecided,
    FilingInvalid,
    FilingNotFound,
    ImportNotFound,
    QueryInvalid,
    TrainingsError,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hub.example/problems/"

# Each package's expected errors, most specific first; every class has ``code`` and ``title``.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (BodyTooLarge, 413),
    (SignatureRefused, 401),
    (DeliveryInvalid, 400),
    (InvalidCommand, 422),
    (NoRulesForYear, 422),
    (InvalidReconciliationRequest, 422),
    (ReconciliationRunning, 409),
    (RunNotFound, 404),
    (DiscrepancyNotFound, 404),
    (AlreadyResolved, 409),
    (LedgerMovedOn, 409),
    (VendorReadFailed, 502),
    (ReconciliationUnavailable, 503),
    (LedgerUnavailable, 503),
    (ExportNotFound, 404),
    (HoldNotFound, 404),
    (HoldAlreadyDecided, 409),
    (EntryNotCurrent, 409),
    (LedgerError, 400),
    (SessionRequired, 401),
    (InvalidPersonData, 422),
    (IdNumberTaken, 409),
    (PersonNotFound, 404),
    (AuthenticationFailed, 401),
    (LoginLocked, 429),
    (BearerTokenRequired, 401),
    (BearerTokenInvalid, 401),
    (OutOfReach, 404),
    (InvalidAccessRequest, 422),
    (TokenNotFound, 404),
    (ResetLinkInvalid, 410),
    (UnknownVendor, 404),
    (InvalidConsentRequest, 422),
    (ConsentNotFound, 404),
    (HandoffUnavailable, 503),
    (PullFailed, 502),  # a pull asked for over HTTP: the vendor failed, not the caller
    (InvalidEventQuery, 422),
    (InvalidQuarantineRequest, 422),
    (PersonStillUnknown, 422),
    (RecordStillInvalid, 422),
    (VendorNotConfigured, 409),
    (IngestionUnavailable, 503),
    (InvalidCertificateRequest, 422),
    (RequirementNotMet, 422),
    (CertificateNotFound, 404),
    (CertificateFontMissing, 503),
    (InvalidMessageQuery, 422),
    (MessageNotFound, 404),
    (IdentityError, 400),
    (FilingInvalid, 422),
    (QueryInvalid, 422),
    (FilingNotFound, 404),
    (ImportNotFound, 404),
    (FilingAlreadyDecided, 409),
    (AttendanceNotOpen, 409),
    (FileTooLarge, 413),
    (FileRefused, 422),
    (TrainingsError, 400),
    (InvalidSupervisionRequest, 422),
    (FeedbackNotFound, 404),
    (FeedbackAlreadyAnswered, 409),
    (FeedbackLimitReached, 429),
    (NoticeLimitReached, 429),
    (SupervisionError, 400),
)
EXPECTED_ERRORS = tuple(kind for kind, _status in STATUS_BY_ERROR)

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    *,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A problem+json answer; ``errors`` lists every field at fault."""
    body: dict[str, object] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [{"field": error.field, "message": error.message} for error in errors]
    response = web.json_response(body, status=status, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_for(error: Exception) -> web.Response:
    """The answer the table gives for one of the packages' expected errors."""
    status = next(status for kind, status in STATUS_BY_ERROR if isinstance(error, kind))
    field_errors: Sequence[FieldError] = getattr(error, "errors", ())
    code: str = getattr(error, "code", "error")
    title: str = getattr(error, "title", "Error")
    # An error of the gateway may name headers of its answer, such as a 401's WWW-Authenticate.
    headers: dict[str, str] | None = getattr(error, "headers", None)
    retry_after: int | None = getattr(error, "retry_after_seconds", None)
    if retry_after is not None:  # a limit that lifts: say when (RFC 9110, Retry-After)
        headers = {**(headers or {}), hdrs.RETRY_AFTER: str(retry_after)}
    return problem(status, code=code, title=title, detail=str(error), errors=field_errors, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers the project's errors and aiohttp's own HTTP errors as problems."""
    try:
        return await handler(request)
    except EXPECTED_ERRORS as error:
        response = problem_for(error)
        log.info("request_refused", path=request.path, status=response.status, code=getattr(error, "code", None))
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem(error.status, code=f"http_{error.status}", title=error.reason, detail=error.text or error.reason)
