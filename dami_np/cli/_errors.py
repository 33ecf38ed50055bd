"""The one error type the command line turns into a one-line message and exit code 2."""


class CliError(Exception):
    """A problem with the user's input: printed as ``dami: error: <message>``, exit 2."""
