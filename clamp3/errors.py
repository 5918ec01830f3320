"""Errors the library raises on purpose.

Batch jobs catch :data:`INPUT_ERRORS`, report one line per bad file and go on; anything else
is a bug and propagates.
"""

from __future__ import annotations

from pathlib import Path


class Clamp3Error(Exception):
    """Base class of every error the project raises deliberately."""


class InputError(Clamp3Error):
    """A file that cannot be read, converted or encoded; the message names the file and why."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep the fields when sent back from a worker process
        return (self.__class__, (self.path, self.reason))


class UnsupportedFormatError(InputError):
    """A file whose extension no reader handles."""


class PartialInputError(InputError):
    """Some items of a multi-item file (tunes of an ABC book) failed; ``items`` holds the rest."""

    def __init__(self, path: str | Path, items: list, errors: list[InputError]):
        self.items = items
        self.errors = errors
        super().__init__(path, f"{len(errors)} of {len(items) + len(errors)} tunes failed")

    def __reduce__(self):
        return (self.__class__, (self.path, self.items, self.errors))


class CheckpointError(Clamp3Error):
    """Weights that cannot be loaded: missing file, wrong layout, mismatched keys or sizes."""


class ConfigError(Clamp3Error, ValueError):
    """A configuration value outside what the model supports."""


# The one tuple batch jobs catch per file.
INPUT_ERRORS: tuple[type[Exception], ...] = (InputError,)
