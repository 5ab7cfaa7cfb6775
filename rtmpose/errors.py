"""The one exception type for user errors (bad file, bad value, missing data).

The CLI prints its message on one line and exits non-zero; any other exception is a bug.
"""


class Error(Exception):
    """A problem with what the user supplied, explained in one line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what Slurm and most schedulers send at a time limit or on cancel), raised in the main thread
    like Ctrl-C's KeyboardInterrupt so that the same clean-up runs: `rtmpose` ends with one line and exit 143."""
