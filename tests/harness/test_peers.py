"""Peer models against the official modules (mmpose 1.3.2, measured in the reference environment by
tools/peer_complexity_reference.py) and their published complexity."""
import json
from pathlib import Path

import pytest

from rtmpose.complexity import complexity
from rtmpose.models.baselines.peers import PEERS, build_peer

REF = json.loads((Path(__file__).parents[1] / 'fixtures' / 'harness' / 'peers_reference.json').read_text())


@pytest.mark.parametrize('name', ['hrnet-w32', 'litehrnet-30', 'hrnet-w48-384x288'])
def test_parameter_count_equals_official_module(name):
    assert sum(p.numel() for p in build_peer(name).parameters()) == REF[name]['params']


@pytest.mark.parametrize('name', ['tinypose-128x96', 'litehrnet-30', 'hrnet-w32'])
def test_gflops_close_to_published(name):
    # published numbers come from other counters (mmcv's old one, Paddle's): within 10%
    spec = PEERS[name]
    w, h = spec.input_size
    c = complexity(build_peer(name), (1, 3, h, w))
    assert abs(c.gflops / spec.published_gflops - 1) < 0.10, (c.gflops, spec.published_gflops)
    assert abs(c.params_m / spec.published_params_m - 1) < 0.03


def test_hrnet_flops_equal_fvcore_on_official_module():
    c = complexity(build_peer('hrnet-w32'), (1, 3, 256, 192))
    assert abs(c.gflops / REF['hrnet-w32']['gflops_fvcore'] - 1) < 1e-3
