"""The ``clamp3`` command line: one module per command group, each with a ``register(commands)``
that adds its parsers; a command parses, calls the engine and prints. Shared options and the
CLI's words for the engine's hints live in :mod:`clamp3.cli.options`. The engine is imported
inside the command functions, so building the parser, ``--help`` and option errors take a fraction
of a second, not the seconds torch and transformers take to import."""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
from collections.abc import Sequence

from clamp3.cli import classify, files, index, maps, search, train
from clamp3.cli.options import WORDS
from clamp3.errors import Clamp3Error, describe

GROUPS = (files, index, search, classify, maps, train)


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """`` did you mean 'x'?`` for the candidate closest to ``word``, or "" when none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Parser(argparse.ArgumentParser):
    """argparse (3.11 suggests nothing) with a suggestion for a misspelt command, choice or option,
    and an unknown option answered by the usage of the command it was given to, not the top level's:
    argparse hands a command's unrecognised arguments up to the top parser to refuse."""

    def _check_value(self, action: argparse.Action, value) -> None:
        if action.choices is not None and isinstance(value, str) and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            hint = _did_you_mean(value, [str(c) for c in action.choices])
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint} (choose from {choices})")
        super()._check_value(action, value)

    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self._command_of(parsed)
            options = [o for o in command._option_string_actions if o.startswith("--")]
            hints = [_did_you_mean(extra.split("=", 1)[0], options) for extra in extras if extra.startswith("-")]
            command.error(f"unrecognized arguments: {' '.join(extras)}{next((h for h in hints if h), '')}")
        return parsed

    def _command_of(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The (sub-)command parser that ``parsed`` went through last: ``clamp3 index add`` -> its parser."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None))
                if chosen is not None:
                    return chosen._command_of(parsed)
        return self


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="clamp3", description="CLaMP 3: one embedding space for text, sheet music, MIDI and audio."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("clamp3")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help and option errors answer here, before any engine import

    from tqdm.contrib.logging import logging_redirect_tqdm

    _setup_logging(args.verbose)
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger("clamp3")]):
            return args.func(args)
    except Clamp3Error as exc:
        print(f"error: {describe(exc, WORDS)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
