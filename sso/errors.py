"""Errors of the identity package.

Every error carries a stable machine ``code`` and a human ``title`` as class
attributes, and a ``detail`` message for the instance. No message ever holds an
ID number, a plaintext, a key or a token: they are safe to log and to show.

    IdentityError                   code, title, detail
    ├── InvalidIdNumber             reason: IdNumberRejection
    ├── PersonalDataError
    │   ├── DecryptionFailed        a token that is malformed, tampered or of another context
    │   ├── UnknownDataKey          key_id: a token made with a key the keyring does not hold
    │   └── KeyFileInvalid          a key file that cannot be read or does not validate
    ├── OrganisationInvalid         problems: an organisation file's bad entries, every one
    └── UnknownOrganisationCode     a region, department or institution code that does not exist
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "DecryptionFailed",
    "IdNumberRejection",
    "IdentityError",
    "InvalidIdNumber",
    "KeyFileInvalid",
    "OrganisationInvalid",
    "PersonalDataError",
    "UnknownDataKey",
    "UnknownOrganisationCode",
]


class IdentityError(Exception):
    """The base of every error of the identity package."""

    code: ClassVar[str] = "identity_error"
    title: ClassVar[str] = "Identity error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class IdNumberRejection(StrEnum):
    """Why an ID number was refused, in the order the checks run."""

    LENGTH = "length"
    FORMAT = "format"
    REGION = "region"
    BIRTH_DATE = "birth_date"
    CHECK_DIGIT = "check_digit"


_ID_NUMBER_MESSAGES: dict[IdNumberRejection, str] = {
    IdNumberRejection.LENGTH: "an ID number has exactly 18 characters",
    IdNumberRejection.FORMAT: "an ID number is 17 digits followed by a digit or X",
    IdNumberRejection.REGION: "the ID number does not start with a known province-level region code",
    IdNumberRejection.BIRTH_DATE: "the ID number does not hold a real birth date between 1900 and today",
    IdNumberRejection.CHECK_DIGIT: "the ID number's check digit does not match its other digits",
}


class InvalidIdNumber(IdentityError):
    """A text that is not a valid GB 11643 citizen ID number."""

    code = "invalid_id_number"
    title = "Invalid ID number"

    def __init__(self, reason: IdNumberRejection) -> None:
        super().__init__(_ID_NUMBER_MESSAGES[reason])
        self.reason = reason


class PersonalDataError(IdentityError):
    """The base of the errors of personal-data protection."""

    code = "personal_data_error"
    title = "Personal data error"


class DecryptionFailed(PersonalDataError):
    """A token that is malformed, was tampered with, or belongs to another context."""

    code = "decryption_failed"
    title = "Decryption failed"


class UnknownDataKey(PersonalDataError):
    """A well-formed token made with a data key that the keyring does not hold."""

    code = "unknown_data_key"
    title = "Unknown data key"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"the keyring holds no data key with id {key_id!r}")
        self.key_id = key_id


class KeyFileInvalid(PersonalDataError):
    """A key file that cannot be read or whose content does not validate."""

    code = "key_file_invalid"
    title = "Invalid key file"


class OrganisationInvalid(IdentityError):
    """An organisation file with entries that do not validate; ``problems`` names each one."""

    code = "organisation_invalid"
    title = "Invalid organisation file"

    def __init__(self, detail: str, problems: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.problems = tuple(problems) or (detail,)


class UnknownOrganisationCode(IdentityError):
    """A region, department or institution code that the organisation does not hold."""

    code = "unknown_organisation_code"
    title = "Unknown organisation code"

    def __init__(self, kind: str, code: str) -> None:
        super().__init__(f"there is no {kind} with code {code!r}")
        self.kind = kind
        self.unknown_code = code
