"""User-facing errors: the CLI prints them as one line and exits with code 2."""


class TextVAEError(Exception):
    """An error caused by the user's input, config or files (not a bug in textvae)."""


class ConfigError(TextVAEError, ValueError):
    """A config key or value is invalid."""


class DataError(TextVAEError, ValueError):
    """A data file or dataset cannot be read or is empty."""


class CheckpointError(TextVAEError, OSError):
    """A saved model or training checkpoint is missing, corrupted or incompatible."""
