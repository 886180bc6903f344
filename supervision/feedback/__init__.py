"""Feedback on violations: staff send it about an institution, the supervisors who reach that institution
list and answer it, and the sender reads the answer."""
