"""Parameters and GFLOPs (1 MAC = 1 FLOP) against the paper and the official counter (fvcore)."""
import json
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from rtmpose.complexity import count_flops, model_complexity
from tests.conftest import FIXTURES, REPO

# paper / spec: params (M), GFLOPs
PAPER = {'rtmpose-t': (3.34, 0.36), 'rtmpose-s': (5.47, 0.68), 'rtmpose-m': (13.59, 1.93),
         'rtmpose-l': (27.66, 4.16), 'rtmpose-m-384x288': (13.72, 4.33), 'rtmpose-l-384x288': (27.79, 9.35)}
OFFICIAL = json.load(open(os.path.join(FIXTURES, 'parity', 'reference.json')))['models']


@pytest.mark.parametrize('name', sorted(PAPER))
def test_matches_paper_within_1_percent(name):
    c = model_complexity(name)
    params, gflops = PAPER[name]
    assert c.params_m == pytest.approx(params, rel=0.01)
    assert c.gflops == pytest.approx(gflops, rel=0.01)


@pytest.mark.parametrize('case', sorted(OFFICIAL))
def test_equals_fvcore_on_the_official_model(case):
    name, _, k = case.partition('@')
    c = model_complexity(name, int(k) if k else 17)
    assert c.params == OFFICIAL[case]['params']
    assert c.gflops == pytest.approx(OFFICIAL[case]['gflops_fvcore'], rel=1e-9)


def test_counting_rules_on_known_layers():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
    assert count_flops(conv, torch.zeros(1, 3, 10, 10)) == 8 * 100 * 3 * 9  # MACs, bias free
    lin = nn.Linear(16, 4, bias=False)
    assert count_flops(lin, torch.zeros(2, 5, 16)) == 2 * 5 * 16 * 4
    bn = nn.BatchNorm2d(8)
    assert count_flops(bn, torch.zeros(1, 8, 4, 4)) == 2 * 8 * 16
    dw = nn.Conv2d(8, 8, 5, padding=2, groups=8, bias=False)
    assert count_flops(dw, torch.zeros(1, 8, 6, 6)) == 8 * 36 * 25
    up = nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, bias=False)
    assert count_flops(up, torch.zeros(1, 4, 3, 3)) == 9 * 4 * 2 * 16  # per input pixel


def test_info_cli_and_json(tmp_path):
    out = tmp_path / 'c.json'
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'info', 'rtmpose-t', 'rtmpose-s', '--json', str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert 'rtmpose-t' in r.stdout and '0.359' in r.stdout
    data = json.loads(out.read_text())
    assert data['rtmpose-s']['params'] == 5473251
