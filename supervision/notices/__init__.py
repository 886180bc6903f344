"""Notices: what supervisors tell the staff of the units they oversee, delivered as staff messages."""
