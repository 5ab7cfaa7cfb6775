"""The trained-model table: a run's AP against the committed spread over seeds of the same settings."""
from __future__ import annotations

import csv
import io
import json

import pytest

from rtmpose.reports.config import TablesConfig
from rtmpose.reports.trained import prediction_interval, spread_verdict, trained_report

SETTINGS = {'epochs': 12, 'base_lr': 0.0005, 'model': 'rtmpose-t'}
SEEDS = {'metric': 'AP', 'n_seeds': 3, 'AP_mean': 0.65, 'AP_ci_low': 0.62, 'AP_ci_high': 0.68,
         'settings': SETTINGS,
         'per_seed': [{'seed': 21, 'AP': 0.64, 'AP50': 0.9, 'AP75': 0.7, 'AR': 0.7},
                      {'seed': 22, 'AP': 0.66, 'AP50': 0.92, 'AP75': 0.72, 'AR': 0.71},
                      {'seed': 23, 'AP': 0.65, 'AP50': 0.91, 'AP75': 0.71, 'AR': 0.72}]}


def test_a_run_against_the_prediction_interval_and_its_own_seed():
    run = {**SETTINGS, 'name': 'synthetic-t', 'seed': 21}
    low, high = prediction_interval([0.64, 0.66, 0.65])
    # one run is judged by where one more run falls, wider than the interval of the mean (t_.975,2 = 4.303)
    assert (high - low) / 2 == pytest.approx(4.303 * 0.01 * (1 + 1 / 3) ** 0.5, rel=1e-3)
    inside = spread_verdict(0.64, SEEDS, run)
    assert 'inside' in inside and 'OUTSIDE' not in inside and 'scored 64.00: equal' in inside
    far = spread_verdict(0.72, SEEDS, run)
    assert 'OUTSIDE' in far and '+8.00' in far
    assert 'OUTSIDE' in spread_verdict(0.58, SEEDS, {**run, 'seed': 99})
    # another recipe or other starting weights are not expected to fall in the interval, and the verdict says so
    assert 'settings differ' in spread_verdict(0.64, SEEDS, {**run, 'epochs': 30})
    moved = {**SEEDS, 'inputs': {'init_backbone_sha256': 'a'}}
    assert 'pre-trained weights differ' in spread_verdict(0.64, moved, run, 'b')
    assert 'pre-trained weights differ' not in spread_verdict(0.64, moved, run, 'a')
    assert 'no committed spread' in spread_verdict(0.64, {**SEEDS, 'per_seed': SEEDS['per_seed'][:1]}, run)


def test_the_table_reads_the_stage_outputs(tmp_path):
    (tmp_path / 'reports/train').mkdir(parents=True)
    (tmp_path / 'reports/eval').mkdir(parents=True)
    (tmp_path / 'pretrained').mkdir()
    (tmp_path / 'runs/synthetic-t').mkdir(parents=True)
    (tmp_path / 'reports/train/seeds.json').write_text(json.dumps(SEEDS))
    (tmp_path / 'reports/train/metrics.json').write_text(json.dumps({'AP': 0.7, 'AP50': 0.95, 'AP75': 0.8, 'AR': 0.75}))
    (tmp_path / 'reports/eval/synthetic.json').write_text(json.dumps({'AP': 0.69, 'AP50': 0.95, 'AP75': 0.8, 'AR': 0.75}))
    (tmp_path / 'runs/synthetic-t/config.json').write_text(json.dumps({'config': {**SETTINGS, 'seed': 21}}))
    (tmp_path / 'pretrained/p.json').write_text(json.dumps({
        'epochs': 10, 'held_out': 'val (seed 1)', 'data': {'train': {'images': 20000}},
        'held_out_metrics': {'AP': 0.7, 'AP50': 0.9}}))
    cfg = TablesConfig(root=str(tmp_path), runs_dir='runs', train_run='synthetic-t', pretrained='pretrained/p.json')
    md, table = trained_report(cfg)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r['stage'] for r in rows] == ['pretrain', 'train (this run)', 'eval (this run)',
                                          'train spread (3 seeds, committed)']
    assert float(rows[1]['AP']) == 0.7 and 'OUTSIDE' in rows[1]['verdict'] and '+6.00' in rows[1]['verdict']
    assert float(rows[2]['AP']) == 0.69
    assert float(rows[3]['AP']) == 0.65 and rows[3]['interval'] == '[62.0, 68.0] (mean)'
    assert '| 70.0 | 95.0 | 80.0 | 75.0 |' in md and 'OUTSIDE' in md
