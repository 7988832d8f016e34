"""musicapi-mock: an offline, stateful mock server and contract-test kit for MusicAPI."""

__version__ = "0.1.0"
