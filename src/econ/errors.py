"""Errors that the CLI turns into a one-line message and exit status 2."""


class UserError(Exception):
    """Bad input from the user: unknown names, missing files, malformed rows, invalid config."""
