"""The errors of people: under the identity base, stable codes, a docstring that draws them."""

from __future__ import annotations

import inspect

import sso.errors
import sso.people.errors
from sso.errors import IdentityError
from sso.people.errors import PeopleError

ERRORS = [
    member
    for _, member in inspect.getmembers(sso.people.errors, inspect.isclass)
    if issubclass(member, Exception) and member.__module__ == sso.people.errors.__name__
]


def test_every_error_derives_from_people_error_under_the_identity_base() -> None:
    assert ERRORS
    assert all(issubclass(error, PeopleError) and issubclass(error, IdentityError) for error in ERRORS)


def test_every_code_is_its_own_across_the_identity_package() -> None:
    identity = [
        member
        for _, member in inspect.getmembers(sso.errors, inspect.isclass)
        if isinstance(member, type) and issubclass(member, IdentityError)
    ]
    codes = [error.code for error in (*identity, *ERRORS)]

    assert len(codes) == len(set(codes))
    assert len({error.title for error in ERRORS}) == len(ERRORS)


def test_the_docstring_draws_every_error() -> None:
    docstring = sso.people.errors.__doc__ or ""

    assert all(f"── {error.__name__} " in docstring for error in ERRORS)
    assert sorted(sso.people.errors.__all__) == sso.people.errors.__all__
