"""Ingestion as operators see it: deliveries refused at the door, counted, beside the ledger's receipts."""
