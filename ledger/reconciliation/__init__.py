"""Reconciliation of the ledger with each vendor's own records: runs, discrepancies and their resolution."""
