"""The handoff's errors: all under the identity package's base, stable codes, a docstring that draws them."""

from __future__ import annotations

import inspect

import sso.handoff.errors
from sso.errors import IdentityError
from sso.handoff.errors import HandoffError

ERRORS = [
    member
    for _, member in inspect.getmembers(sso.handoff.errors, inspect.isclass)
    if issubclass(member, Exception) and member.__module__ == sso.handoff.errors.__name__
]


def test_every_error_is_a_handoff_error_and_so_an_identity_error() -> None:
    assert ERRORS
    assert all(issubclass(error, HandoffError) and issubclass(error, IdentityError) for error in ERRORS)


def test_every_error_has_its_own_code_and_title() -> None:
    codes = [error.code for error in ERRORS]
    titles = [error.title for error in ERRORS]

    assert len(set(codes)) == len(codes)
    assert len(set(titles)) == len(titles)
    assert all(code.isidentifier() and code.islower() for code in codes)


def test_the_docstring_draws_every_error_and_all_names_them() -> None:
    docstring = sso.handoff.errors.__doc__ or ""

    assert all(f"── {error.__name__} " in docstring or f" {error.__name__} " in docstring for error in ERRORS)
    assert all(error.__name__ in sso.handoff.errors.__all__ for error in ERRORS)
    assert sorted(sso.handoff.errors.__all__) == sso.handoff.errors.__all__
