"""The ``clamp3`` command line: one module per command group, each with a ``register(commands)``
that adds its parsers; a command parses, calls the engine and prints. Shared options and the
CLI's words for the engine's hints live in :mod:`clamp3.cli.options`. The engine is imported
inside the command functions, so building the parser, ``--help`` and option errors take a fraction
of a second, not the seconds torch and transformers take to import."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from clamp3.cli import classify, files, index, maps, search, train
from clamp3.cli.options import WORDS
from clamp3.errors import Clamp3Error, describe

GROUPS = (files, index, search, classify, maps, train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
