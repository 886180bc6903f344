"""Quarantine review: operators list the records the hub held, and release or reject each once."""
