"""From an hnou record to the ledger command it asks for: a credit, a reversal, or a hold.

hnou keys learners by ID number, so the ID number is personal data in everything made here: a
held record's payload is encrypted with the hub's ``DataKeyring``, and the hashes that identify a
record's content use the ID number's blind index, never the number (a plain SHA-256 of a record
could be reversed by trying every ID number). The same record read from a form or from a daily
file gives the same hashes, so the ledger takes it once.
"""

from __future__ import annotations

from typing import Final

from adapters.hnou.errors import FieldsInvalid
from adapters.hnou.model import ACTOR, VENDOR, Completion, Field, HnouRecord, Revocation, WireFormat
from adapters.hnou.ports import CommandCheck, PersonForIdNumber
from ledger.errors import FieldError, InvalidCommand, NoRulesForYear
from ledger.model import (
    Command,
    EntryKind,
    Hold,
    HoldReason,
    Source,
    canonical_json,
    format_hours,
    new_credit,
    new_reversal,
    parse_hours,
    sha256_hex,
    utc_text,
)
from sso.personal_data import DataKeyring

HOLD_PAYLOAD_CONTEXT: Final = "ledger_hold.hnou"
"""The ``DataKeyring`` context of a held hnou record's payload: an operator decrypts it under this."""
ID_NUMBER_INDEX_PURPOSE: Final = "hnou.id_number"
REVOCATION_REASON: Final = "revoked by hnou"

_LEDGER_FIELDS: Final = {
    "record_id": Field.RECORD_NO,
    "course_code": Field.COURSE_CODE,
    "course_title": Field.COURSE_TITLE,
    "subject": Field.SUBJECT,
    "hours": Field.HOURS,
    "completed_at": Field.COMPLETED_AT,
}


class Translator:
    """Turns hnou records into ledger commands, finding learners by ID number."""

    def __init__(self, person_for_id_number: PersonForIdNumber, keyring: DataKeyring, check: CommandCheck) -> None:
        self._person_for_id_number = person_for_id_number
        self._keyring = keyring
        self._check = check

    async def command(self, record: HnouRecord, wire: WireFormat) -> Command:
        """The command for a record; raises ``FieldsInvalid`` (with ``wire``'s names) for a record
        the ledger could never take, such as a completion in a year without rules."""
        try:
            command = await self._command(record)
            self._check(command)
        except InvalidCommand as invalid:
            raise FieldsInvalid([_on_the_wire(error, wire) for error in invalid.errors]) from None
        except NoRulesForYear as exc:
            name = wire.name(Field.COMPLETED_AT)
            raise FieldsInvalid([FieldError(name, f"falls in {exc.year}, a training year without rules")]) from None
        return command

    async def _command(self, record: HnouRecord) -> Command:
        if isinstance(record, Revocation):
            return new_reversal(
                source=VENDOR,
                record_id=record.record_no,
                reason=REVOCATION_REASON,
                actor=ACTOR,
                payload_hash=sha256_hex(canonical_json({"record_no": record.record_no, "status": "revoked"})),
            )
        person_id = await self._person_for_id_number(record.id_number)
        if person_id is None:
            return self._unknown_person(record)
        return new_credit(
            person_id=person_id,
            source=VENDOR,
            record_id=record.record_no,
            course_code=record.course_code,
            course_title=record.course_title,
            subject=record.subject.value,
            hours=record.hours,
            completed_at=record.completed_at,
            actor=ACTOR,
            payload_hash=self.content_hash(record),
        )

    def content_hash(self, record: Completion) -> str:
        """What identifies a completion's content, from a form or a file alike (titles and names are not content)."""
        return sha256_hex(
            canonical_json(
                {
                    "record_no": record.record_no,
                    "id_number_index": self._keyring.blind_index(record.id_number, purpose=ID_NUMBER_INDEX_PURPOSE),
                    "course_code": record.course_code,
                    "subject": record.subject.value,
                    "hours": parse_hours(record.hours),
                    "completed_at": utc_text(record.completed_at),
                }
            )
        )

    def _unknown_person(self, record: Completion) -> Hold:
        """A completion for an ID number of nobody registered: held for an operator, never dropped."""
        document = {
            "record_no": record.record_no,
            "id_number": record.id_number,
            "learner_name": record.learner_name,
            "course_code": record.course_code,
            "course_title": record.course_title,
            "subject": record.subject.value,
            "hours": format_hours(parse_hours(record.hours)),
            "completed_at": utc_text(record.completed_at),
        }
        return Hold(
            source=Source.HNOU,
            record_id=record.record_no,
            kind=EntryKind.CREDIT,
            reason=HoldReason.UNKNOWN_PERSON,
            payload=self.seal(canonical_json(document).decode()),
            payload_hash=self.content_hash(record),
            detail="the ID number belongs to nobody registered",
        )

    def malformed(self, *, record_id: str, kind: EntryKind, raw: str, detail: str) -> Hold:
        """A record that could not be read, held with its reason; ``raw`` (which may hold an ID
        number) is encrypted, and identified by its keyed hash."""
        return Hold(
            source=Source.HNOU,
            record_id=record_id,
            kind=kind,
            reason=HoldReason.MALFORMED,
            payload=self.seal(raw),
            payload_hash=self._keyring.blind_index(raw, purpose="hnou.malformed_record"),
            detail=detail,
        )

    def seal(self, plaintext: str) -> str:
        return self._keyring.encrypt(plaintext, context=HOLD_PAYLOAD_CONTEXT)

    def unseal(self, payload: str) -> str:
        """The plaintext of a held payload ``seal`` made; raises the keyring's ``DecryptionFailed``."""
        return self._keyring.decrypt(payload, context=HOLD_PAYLOAD_CONTEXT)


def _on_the_wire(error: FieldError, wire: WireFormat) -> FieldError:
    """A ledger field's name as hnou's wire names it."""
    field = _LEDGER_FIELDS.get(error.field)
    return FieldError(error.field if field is None else wire.name(field), error.message)
