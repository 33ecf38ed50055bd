"""The one error type the command line turns into a one-line message and exit code 2, and its text."""


class CliError(Exception):
    """A problem with the user's input: printed as ``dami: error: <message>``, exit 2."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when it has none), for one-line errors."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
