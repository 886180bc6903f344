"""Translations every vendor's wire format needs: exact hours and Beijing time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from ledger.errors import FieldError
from ledger.model import BEIJING, VENDOR_RECORD_HOURS_MAX, parse_hours


def wire_hours(value: object, field: str, errors: list[FieldError]) -> Decimal | None:
    """Vendor hours as an exact decimal: a decimal string (or a JSON number that ``json`` read
    as ``Decimal``), more than 0, at most 100, at most two fractional digits."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        errors.append(FieldError(field, "must be a decimal number of hours"))
        return None
    try:
        amount = Decimal(str(value))
        hundredths = parse_hours(amount)
    except (InvalidOperation, ValueError) as exc:
        errors.append(FieldError(field, str(exc) if isinstance(exc, ValueError) else "must be a decimal number"))
        return None
    if hundredths > VENDOR_RECORD_HOURS_MAX:
        errors.append(FieldError(field, "must be at most 100"))
        return None
    return amount


def beijing_time(text: object, layout: str, field: str, errors: list[FieldError]) -> datetime | None:
    """A wire time without an offset, read as Beijing time (vendors.md, "Common facts")."""
    if not isinstance(text, str):
        errors.append(FieldError(field, "must be a date and time"))
        return None
    try:
        return datetime.strptime(text, layout).replace(tzinfo=BEIJING)
    except ValueError:
        errors.append(FieldError(field, f"must be a time like {datetime(2021, 6, 1, 10, 0).strftime(layout)}"))  # noqa: DTZ001  (an example of the layout)
        return None


def iso_time(text: object, field: str, errors: list[FieldError]) -> datetime | None:
    """An ISO 8601 time; without an offset it is Beijing time."""
    if not isinstance(text, str):
        errors.append(FieldError(field, "must be an ISO 8601 date and time"))
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field, "must be an ISO 8601 date and time"))
        return None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=BEIJING)
