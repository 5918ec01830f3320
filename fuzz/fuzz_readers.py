"""Coverage-guided fuzzing of one reader with atheris (libFuzzer).

    python -m fuzz.fuzz_readers midi -runs=100000 -max_len=65536 -rss_limit_mb=4096
    python -m fuzz.fuzz_readers midi CORPUS_DIR -max_total_time=600
    python -m fuzz.fuzz_readers midi tests/data/fuzz/midi/1234abcd.mid   # replay inputs

Without a corpus folder, the target's seeds are written to a temporary one. The readers and
the parsers under them (mido, abctoolkit, zipfile, csv, json, numpy's header parser) are
instrumented for coverage; a crash is an exception other than the project's declared errors.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["clamp3", "mido", "abctoolkit", "zipfile", "csv", "json", "tokenize", "numpy.lib"]):
    from fuzz.targets import TARGETS, seeds_of


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.fuzz_readers TARGET [libFuzzer options] [CORPUS or FILE ...]\ntargets: {' '.join(TARGETS)}")
    target = TARGETS[argv[1]]
    libfuzzer_args = [argv[0], *argv[2:]]
    scratch = Path(tempfile.mkdtemp(prefix=f"atheris-{target.name}-"))
    if not any(not arg.startswith("-") for arg in argv[2:]):
        corpus = scratch / "corpus"
        corpus.mkdir()
        for number, seed in enumerate(seeds_of(target.name)):
            (corpus / f"seed{number}{target.suffix}").write_bytes(seed)
        libfuzzer_args.append(str(corpus))

    def test_one_input(data: bytes) -> None:
        target.run(data, scratch)

    atheris.Setup(libfuzzer_args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
