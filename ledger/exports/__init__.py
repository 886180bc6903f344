"""Auditor exports of the ledger: streamed files of entries, pinned and signed, checkable offline."""
