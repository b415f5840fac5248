"""Exceptions with messages that say what was wrong and how to fix it."""


class VireidError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(VireidError, ValueError):
    """A dataset on disk is missing, incomplete or malformed (the message names the file)."""


class ConfigError(VireidError, ValueError):
    """A configuration value or profile is invalid."""


class CheckpointError(VireidError, RuntimeError):
    """A checkpoint is corrupt or belongs to a different configuration."""
