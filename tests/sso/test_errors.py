"""The error tree of the identity package: one base, stable codes, a docstring that draws it."""

from __future__ import annotations

import inspect

import sso.errors
from sso.errors import IdentityError

CLASSES = [
    member
    for _, member in inspect.getmembers(sso.errors, inspect.isclass)
    if issubclass(member, Exception) and member.__module__ == sso.errors.__name__
]
ERRORS = [error for error in CLASSES if issubclass(error, IdentityError)]


def test_every_error_derives_from_the_one_base() -> None:
    assert len(ERRORS) == len(CLASSES)


def test_every_error_has_its_own_code_and_title() -> None:
    codes = [error.code for error in ERRORS]
    titles = [error.title for error in ERRORS]

    assert len(set(codes)) == len(codes) == len(ERRORS)
    assert len(set(titles)) == len(titles)
    assert all(code.isidentifier() and code.islower() for code in codes)


def test_the_docstring_draws_every_error() -> None:
    docstring = sso.errors.__doc__ or ""

    assert all(f" {error.__name__} " in docstring or f"── {error.__name__}" in docstring for error in ERRORS)
    assert all(error.__name__ in sso.errors.__all__ for error in ERRORS)
    assert sorted(sso.errors.__all__) == sso.errors.__all__
