"""Ids in paths and cursors: a number no integer primary key can hold is nobody's row, never a database error."""

from __future__ import annotations

import pytest

from gateway.parameters import ROW_ID_MAX, row_id


@pytest.mark.parametrize("text", ["1", "42", str(ROW_ID_MAX)])
def test_a_row_id_is_a_positive_number_an_integer_column_holds(text: str) -> None:
    assert row_id(text) == int(text)


@pytest.mark.parametrize("text", ["", "0", "-1", "+1", " 1", "1.0", "²", "١٢", str(ROW_ID_MAX + 1), "9" * 40])
def test_anything_else_names_no_row(text: str) -> None:
    assert row_id(text) is None
