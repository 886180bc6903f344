"""Errors of people and their sessions; every one is an ``IdentityError``.

No message ever holds an ID number, a phone number, an e-mail address, a password or a
session token: they are safe to log and to show.

    IdentityError (sso.errors)
    └── PeopleError                 code, title, detail
        ├── InvalidPersonData       errors: every field at fault (a form, a profile change, a password)
        ├── IdNumberTaken           the ID number already has an account
        ├── PersonNotFound          no person with this id
        ├── AuthenticationFailed    a wrong password, an unknown or deactivated ID number: one answer
        └── LoginLocked             retry_after_seconds: too many failures for one ID number
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import FieldError
from sso.errors import IdentityError

__all__ = [
    "AuthenticationFailed",
    "FieldError",
    "IdNumberTaken",
    "InvalidPersonData",
    "LoginLocked",
    "PeopleError",
    "PersonNotFound",
]


class PeopleError(IdentityError):
    """The base of the errors of people and their sessions."""

    code = "people_error"
    title = "People error"


class InvalidPersonData(PeopleError):
    """Input about a person that does not validate; ``errors`` lists every field at fault."""

    code = "invalid_person_data"
    title = "Invalid person data"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)


class IdNumberTaken(PeopleError):
    """An account already exists for this ID number (one account per ID number)."""

    code = "id_number_taken"
    title = "ID number already registered"

    def __init__(self) -> None:
        super().__init__("an account is already registered with this ID number")


class PersonNotFound(PeopleError):
    """No person has this id."""

    code = "person_not_found"
    title = "Person not found"

    def __init__(self, person_id: str) -> None:
        super().__init__(f"there is no person with id {person_id!r}")
        self.person_id = person_id


class AuthenticationFailed(PeopleError):
    """The ID number and password do not sign anyone in; never says which part was wrong."""

    code = "authentication_failed"
    title = "Authentication failed"

    def __init__(self) -> None:
        super().__init__("the ID number or the password is wrong")


class LoginLocked(PeopleError):
    """Too many failed logins for one ID number recently; ``retry_after_seconds`` says how long to wait."""

    code = "login_locked"
    title = "Too many failed logins"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed logins for this ID number: try again in {retry_after_seconds} seconds")
        self.retry_after_seconds = retry_after_seconds
