"""User-facing errors: the CLI prints them as one line and exits with code 2."""


class TextVAEError(Exception):
    """An error caused by the user's input, config or files (not a bug in textvae)."""


class ConfigError(TextVAEError, ValueError):
    """A config key or value is invalid."""


class DataError(TextVAEError, ValueError):
    """A data file or dataset cannot be read or is empty."""


class CheckpointError(TextVAEError, OSError):
    """A saved model or training checkpoint is missing, corrupted or incompatible."""


def require(condition: bool, message: str, error: type[TextVAEError] = ConfigError) -> None:
    """Raise `error(message)` unless `condition` holds."""
    if not condition:
        raise error(message)


def require_count(value, name: str = "n", minimum: int = 1) -> int:
    """An int >= `minimum` (bools are not counts), else a TextVAEError naming `name`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TextVAEError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise TextVAEError(f"{name} must be >= {minimum}, got {value}" if minimum != 1 else f"{name} must be > 0, got {value}")
    return value
