"""Errors the library raises on purpose.

Batch jobs catch :data:`INPUT_ERRORS`, report one line per bad file and go on; anything else
is a bug and propagates.

An error says what went wrong in the engine's words; what the user can change is a
:class:`Hint`: a setting (``"index"``, ``"weights"``, ``"max_text_tokens"``, ...) and what to do
with it. Each face words the setting its own way (the CLI as its option, the app as its field),
so the engine never names a command-line flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Hint:
    """What the user can do about an error: ``action`` (worded without naming any face, e.g. "give
    a local copy") and the ``setting`` it concerns (a name from :data:`SETTINGS`), or none."""

    action: str
    setting: str | None = None

    def __post_init__(self) -> None:
        if self.setting is not None and self.setting not in SETTINGS:
            raise ValueError(f"unknown setting {self.setting!r}; expected one of {sorted(SETTINGS)}")


# The settings a hint may name, each with the words a face uses when it has no name of its own.
SETTINGS: dict[str, str] = {
    "weights": "the model weights",
    "text_model": "the text model of an official checkpoint",
    "mert": "a local copy of the MERT model",
    "index": "the library folder",
    "max_text_tokens": "the longest text accepted",
    "out": "the output folder",
    "shard": "the part of the files to do",
    "classes": "the classes",
    "templates": "the prompt templates",
}


class Clamp3Error(Exception):
    """Base class of every error the project raises deliberately; ``hint`` says what the user can change."""

    def __init__(self, *args, hint: Hint | None = None):
        super().__init__(*args)
        self.hint = hint

    def __reduce__(self):  # keep the hint when sent back from a worker process
        return (_rebuild, (self.__class__, self.args, self.__dict__))


def _rebuild(cls, args, state):
    error = Exception.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def describe(exc: BaseException, words: dict[str, str] | None = None) -> str:
    """One line for a user: the error, then its hint with the setting named as ``words`` (a face's
    own names for the settings) names it, or in the engine's plain words. A face that maps a
    setting to "" has no way to change it: the hint is left out."""
    hint = getattr(exc, "hint", None)
    if hint is None:
        return str(exc)
    if hint.setting is None:
        return f"{exc}; {hint.action}"
    name = (words or {}).get(hint.setting)
    if name == "":
        return str(exc)
    return f"{exc}; {hint.action}: {name or SETTINGS[hint.setting]}"


class InputError(Clamp3Error):
    """A file that cannot be read, converted or encoded; the message names the file and why."""

    def __init__(self, path: str | Path, reason: str, hint: Hint | None = None):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}", hint=hint)


class UnsupportedFormatError(InputError):
    """A file whose extension no reader handles."""


class PartialInputError(InputError):
    """Some items of a multi-item file (tunes of an ABC book) failed; ``items`` holds the rest."""

    def __init__(self, path: str | Path, items: list, errors: list[InputError]):
        self.items = items
        self.errors = errors
        super().__init__(path, f"{len(errors)} of {len(items) + len(errors)} tunes failed")


class CheckpointError(Clamp3Error):
    """Weights that cannot be loaded: missing file, wrong layout, mismatched keys or sizes."""


class ConfigError(Clamp3Error, ValueError):
    """A configuration value outside what the model supports."""


# The one tuple batch jobs catch per file.
INPUT_ERRORS: tuple[type[Exception], ...] = (InputError,)
