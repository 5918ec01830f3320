"""benchmarks/device.py answers at once where it cannot measure: its help, and one line with exit
status 2 when there is no CUDA device and no ``--device cpu --smoke``. (The smoke run itself,
``python benchmarks/device.py --device cpu --smoke``, takes half a minute: not a test.)"""

from __future__ import annotations

import pytest
import torch
from support import benchmark_script


@pytest.fixture(scope="module")
def device_script():
    with benchmark_script("device") as module:
        yield module


def test_help(device_script, capsys):
    with pytest.raises(SystemExit) as exited:
        device_script.main(["--help"])
    assert exited.value.code == 0
    assert "--smoke" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["--smoke"], ["--device", "cpu"]])
def test_refuses_in_one_line_without_cuda(device_script, monkeypatch, capsys, argv):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_script.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
