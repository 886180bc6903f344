"""People: the staff who register, log in and keep their profile; their sessions."""
