"""The ``hub`` command line's groups of commands, one module each, added to ``gateway.cli``'s app."""


class CommandFailed(Exception):
    """A command could not do its work; the message is the one line the user sees."""
