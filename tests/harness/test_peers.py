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


TOLERANCE = 0.10   # published counts come from other counters (mmcv's old one, Paddle's)


@pytest.mark.parametrize('name', list(PEERS))
def test_every_peer_model_complexity_matches_published(name):
    from rtmpose.complexity import model_complexity
    spec = PEERS[name]
    c = model_complexity(name)
    assert abs(c.gflops / spec.published_gflops - 1) < TOLERANCE, (c.gflops, spec.published_gflops)


def test_paper_sizes_of_tinypose_are_benched_and_table11_reads_256x192():
    from rtmpose.reports.build import PEERS as TABLE11_PEERS
    from rtmpose.settings import read_params
    assert {'tinypose-128x96', 'tinypose-256x192'} <= set(read_params()['bench']['peers'])
    assert TABLE11_PEERS['TinyPose'] == 'tinypose-256x192'
    assert abs(PEERS['tinypose-256x192'].published_gflops - 0.33) < 0.005     # Table 11's 0.33 GFLOPs
    assert abs(PEERS['tinypose-128x96'].published_gflops - 0.08) < 0.005      # Table 4's 0.08 row


def test_hrnet_flops_equal_fvcore_on_official_module():
    c = complexity(build_peer('hrnet-w32'), (1, 3, 256, 192))
    assert abs(c.gflops / REF['hrnet-w32']['gflops_fvcore'] - 1) < 1e-3
