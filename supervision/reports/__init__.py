"""Supervisors' reports: compliance with the year's rules, and the vendors' shares of online hours."""
