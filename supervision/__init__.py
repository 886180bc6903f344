"""Supervision: what supervisors see of the units they oversee (compliance with the year's rules, the
vendors' shares of online hours) and the feedback staff send them about violations."""
