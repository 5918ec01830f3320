"""One zero-shot classifier behind every face: ``clamp3 classify``, the app's ``/classify`` (the real
``python app.py``, through gradio_client) and the model card's evaluation (``demo/evaluate.py``)
give identical class probabilities for the same file and the same prompts.

Each face is asked about one file at a time, as the app always is: the model's numbers for an
input depend (in the last bits of float32) on the inputs it shares a padded batch with."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import GOLDEN

from clamp3.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLASSES = ["jig", "reel", "Volkslied", "chorale"]
TEMPLATES = ["{}, a fiddle tune", "{} für Chor", "{}"]
TEMPERATURE = 0.05
FILES = [GOLDEN / "convert" / "midi" / "bwv10.7.mid", GOLDEN / "embed_tiny" / "inputs" / "midi_1.mtf",
         sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[3]]


@pytest.fixture(scope="module")
def library_dir(tiny_model, tmp_path_factory):
    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("library")
    Library(folder, create=True).add(sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:6], Embedder(tiny_model), progress=False)
    return folder


def cli_probabilities(weights: Path, capsys) -> list[dict[str, float]]:
    answers = []
    for file in FILES:
        args = ["classify", str(file), "--labels", ",".join(CLASSES), "--temperature", str(TEMPERATURE), "--json", "--weights", str(weights)]
        for template in TEMPLATES:
            args += ["--template", template]
        assert main(args) == 0
        (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert Path(line["file"]).name == file.name
        answers.append(line["probabilities"])
    return answers


def model_card_probabilities(weights: Path) -> list[dict[str, float]]:
    from clamp3 import Embedder, load_model
    from clamp3.zero_shot import class_prompts
    from demo.evaluate import embed_works, zero_shot_classifier

    embedder = Embedder(load_model(str(weights)))
    classifier = zero_shot_classifier(embedder, class_prompts(CLASSES, TEMPLATES), TEMPERATURE)
    answers = []
    for file in FILES:  # as the card embeds the works of a kind: unit vectors from embed_works
        vectors = embed_works(embedder, file.parent, [{"files": {"score": file.name}}], "score")
        answers.append(dict(zip(classifier.classes, map(float, classifier.predict(vectors).probabilities[0]))))
    return answers


def app_probabilities(weights: Path, library: Path, tmp_path: Path) -> list[dict[str, float]]:
    from gradio_client import Client, handle_file
    from support import serve_app

    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    with serve_app(["--weights", str(weights), "--index", str(library)], log=tmp_path / "app.log", env=env) as (url, _):
        client = Client(url, verbose=False)
        return [client.predict(handle_file(str(file)), "\n".join(CLASSES), "\n".join(TEMPLATES), TEMPERATURE, api_name="/classify")["probabilities"]
                for file in FILES]


def test_cli_app_and_model_card_give_identical_probabilities(tiny_model_dir, library_dir, tmp_path, capsys):
    cli = cli_probabilities(tiny_model_dir, capsys)
    card = model_card_probabilities(tiny_model_dir)
    app = app_probabilities(tiny_model_dir, library_dir, tmp_path)
    for from_cli, from_card, from_app in zip(cli, card, app):
        assert set(from_cli) == set(from_card) == set(from_app) == set(CLASSES)
        assert abs(sum(from_cli.values()) - 1) < 1e-6
        assert all(from_cli[c] == from_card[c] == from_app[c] for c in CLASSES), f"{from_cli}\n{from_card}\n{from_app}"
    # the files differ, so a classifier that ignored its input could not pass
    assert len({tuple(sorted(p.items())) for p in cli}) == len(FILES)
