"""The organisation as the registration picker shows it: regions and institutions, one level at a time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ImportSummary", "Unit", "UnitKind"]


class UnitKind(StrEnum):
    """What a unit of the picker is: a region to open, or an institution to choose."""

    REGION = "region"
    INSTITUTION = "institution"


@dataclass(frozen=True, slots=True)
class Unit:
    """One entry of the picker; ``has_children`` says whether a region holds regions or institutions."""

    code: str
    name: str
    kind: UnitKind
    has_children: bool


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How many entries of each kind an import stored."""

    regions: int
    departments: int
    institutions: int
