"""The organisation's tables: regions, departments and institutions, as the last import left them.

``position`` keeps the order of the imported file, so that every listing reads as the file does
and parents come before their children.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel

CODE_CHARACTERS = 40
NAME_CHARACTERS = 100


class RegionRow(SQLModel, table=True):
    __tablename__ = "organisation_region"

    code: str = Field(primary_key=True, max_length=CODE_CHARACTERS)
    name: str = Field(max_length=NAME_CHARACTERS)
    parent: str | None = Field(default=None, max_length=CODE_CHARACTERS, index=True)
    position: int


class DepartmentRow(SQLModel, table=True):
    __tablename__ = "organisation_department"

    code: str = Field(primary_key=True, max_length=CODE_CHARACTERS)
    name: str = Field(max_length=NAME_CHARACTERS)
    region: str = Field(max_length=CODE_CHARACTERS, index=True)
    kind: str = Field(max_length=16)
    position: int


class InstitutionRow(SQLModel, table=True):
    __tablename__ = "organisation_institution"

    code: str = Field(primary_key=True, max_length=CODE_CHARACTERS)
    name: str = Field(max_length=NAME_CHARACTERS)
    region: str = Field(max_length=CODE_CHARACTERS, index=True)
    department: str = Field(max_length=CODE_CHARACTERS, index=True)
    position: int
