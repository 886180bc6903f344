"""Errors of certificates; every one is an ``IdentityError``.

IdentityError (sso.errors)
└── CertificateError                code, title, detail
    ├── InvalidCertificateRequest   errors: every field at fault in an application
    ├── RequirementNotMet           errors and missing: what the ticked records lack
    ├── CertificateNotFound         no certificate with this number for this caller
    └── CertificateFontMissing      the TrueType font for the PDF is not where the settings say
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import FieldError
from ledger.model import Evaluation
from sso.errors import IdentityError

__all__ = [
    "CertificateError",
    "CertificateFontMissing",
    "CertificateNotFound",
    "FieldError",
    "InvalidCertificateRequest",
    "RequirementNotMet",
]


class CertificateError(IdentityError):
    """The base of the errors of certificates."""

    code = "certificate_error"
    title = "Certificate error"


class InvalidCertificateRequest(CertificateError):
    """An application whose fields do not validate; ``errors`` lists every one."""

    code = "invalid_certificate_request"
    title = "Invalid application"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)


class RequirementNotMet(CertificateError):
    """The ticked records do not meet the year's rules, or some are not the person's counted records.

    ``errors`` names each record at fault and each part of the rules still missing; ``evaluation``
    is that of the ticked records that do count.
    """

    code = "requirement_not_met"
    title = "The ticked records do not meet the year's rules"

    def __init__(self, errors: Sequence[FieldError], evaluation: Evaluation) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)
        self.evaluation = evaluation


class CertificateNotFound(CertificateError):
    """No certificate with this number that the caller may see."""

    code = "certificate_not_found"
    title = "Certificate not found"

    def __init__(self) -> None:
        super().__init__("there is no such certificate")


class CertificateFontMissing(CertificateError):
    """The PDF cannot be made: its font file is missing. The message names the setting."""

    code = "certificate_font_missing"
    title = "Certificates cannot be rendered"
