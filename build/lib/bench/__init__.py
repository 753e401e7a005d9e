"""bench: benchmark suite and static leaderboard for compressed LLMs and embedding models."""

__version__ = "0.1.0"


class BenchError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits with code 2."""
