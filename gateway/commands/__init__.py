"""The ``hub`` command line's groups of commands, one module each, added to ``gateway.cli``'s app."""
