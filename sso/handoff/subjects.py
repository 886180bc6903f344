"""Pairwise subjects: the ``sub`` each vendor knows a person by.

A subject is the keyring's blind index (HMAC-SHA256 under the hub's index key) of the vendor and
the person's id: stable for the pair, different for every vendor, and not derivable from the ID
number, nor from anything else a vendor sees, without the hub's secret.
"""

from __future__ import annotations

from typing import Final

from ledger.model import PersonId
from sso.handoff.model import PairwiseSubject, Vendor
from sso.personal_data import DataKeyring

__all__ = ["SUBJECT_CHARACTERS", "SUBJECT_PURPOSE", "pairwise_subject"]

SUBJECT_PURPOSE: Final = "handoff.pairwise_subject"
SUBJECT_CHARACTERS: Final = 64


def pairwise_subject(keyring: DataKeyring, person_id: PersonId, vendor: Vendor) -> PairwiseSubject:
    """The ``sub`` for this person at this vendor: 64 hex characters."""
    subject = keyring.blind_index(f"{vendor.value}:{person_id}", purpose=SUBJECT_PURPOSE)
    if len(subject) != SUBJECT_CHARACTERS:
        raise ValueError("a pairwise subject has 64 hex characters")
    return PairwiseSubject(subject)
