"""Errors of the hub's start-up: what it cannot run without. Their own module, so that the command
line names them without importing the services that raise them.

HubNotReady        something the hub needs at start-up is missing; the message says what to do
VendorNotReady     a vendor is not configured for what was asked of it, or the registry disagrees
                   with the vendor codes elsewhere
"""


class HubNotReady(Exception):
    """Something the hub needs at start-up is missing; the message says what to do."""


class VendorNotReady(Exception):
    """A vendor is not configured for what was asked of it, or the registry disagrees with the
    vendor codes elsewhere; the message is the one line to show."""
