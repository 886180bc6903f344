"""Staff messages: what the hub tells a person (a certificate issued or revoked, and whatever other
areas add), read and unread, newest first."""
