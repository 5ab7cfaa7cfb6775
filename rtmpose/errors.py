"""The one exception type for user errors (bad file, bad value, missing data).

The CLI prints its message on one line and exits non-zero; any other exception is a bug.
"""


class Error(Exception):
    """A problem with what the user supplied, explained in one line."""
