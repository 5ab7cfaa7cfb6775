"""The roadmap ablation grid declared in params.yaml: every variant resolves to a valid training config
and model; variants outside the chosen grid are recorded as skipped without training."""
import json
import os
from pathlib import Path

import pytest
import yaml

from rtmpose.errors import Error
from rtmpose.train.ablation import load_ablations, run_variant

ROOT = Path(__file__).resolve().parents[2]
PARAMS = str(ROOT / 'params.yaml')


def test_default_grid_is_small_and_paper_grid_covers_table3_and_roadmap():
    cfg, variants = load_ablations(PARAMS)
    default = [k for k, v in variants.items() if 'default' in v.grids]
    assert cfg.grid == 'default' and len(default) <= 6   # ~50 s a variant: the grid fits `make repro`
    cells = set()
    for k in default:
        t = variants[k].table03
        cells.update([t] if isinstance(t, str) else t or [])
    # the paper's effects on the head (GAU, kernel 7 vs 1, 1/tau 10 vs 1, 5 and 15) against the final recipe
    assert {'kernel1', 'kernel7', 'beta1', 'beta5', 'beta10', 'beta15', 'gau_off'} <= cells
    table03 = set()
    for v in variants.values():
        table03.update([v.table03] if isinstance(v.table03, str) else v.table03 or [])
    assert {'kernel1', 'kernel3', 'kernel5', 'kernel7', 'kernel9', 'beta1', 'beta5', 'beta10', 'beta15'} <= table03
    roadmap = {v.roadmap for v in variants.values()}
    assert {'cspnext', 'ema', 'flat_cosine', 'two_stage_aug', 'feature_dim', 'gau', 'temperature',
            'separate_sigma', 'kernel7', 'epochs270', 'epochs420'} <= roadmap
    paper02 = {r['key'] for r in yaml.safe_load((ROOT / 'reports/paper/table02.yaml').read_text())['rows']}
    paper03 = {r['key'] for r in yaml.safe_load((ROOT / 'reports/paper/table03.yaml').read_text())['rows']}
    assert roadmap - {None} <= paper02
    assert {'kernel1', 'beta1'} <= paper03


def test_every_variant_resolves_to_a_training_config_and_a_model():
    from rtmpose import build_model
    from rtmpose.train.config import load_config
    cfg, variants = load_ablations(PARAMS)
    for name, v in variants.items():
        if v.unsupported:
            continue
        tc = load_config(experiment=str(ROOT / cfg.base), sets=list(cfg.train_sets) + list(v.sets))
        ov = {k: tuple(x) if isinstance(x, list) else x for k, x in tc.model_overrides.items()}
        model = build_model(tc.model, **ov)
        assert model.config.input_size == (96, 128), name
    k1 = load_config(experiment=str(ROOT / cfg.base), sets=list(cfg.train_sets) + list(variants['kernel1'].sets))
    assert k1.model_overrides['final_layer_kernel_size'] == 1 and k1.model_overrides['use_gau'] is True
    cs = load_config(experiment=str(ROOT / cfg.base), sets=list(cfg.train_sets) + list(variants['cspnext'].sets))
    assert (cs.ema, cs.loss_beta, cs.label_softmax, cs.stage2_epochs) == (False, 1.0, False, 0)


def _workspace(tmp_path, grid='default'):
    params = yaml.safe_load(Path(PARAMS).read_text())
    params['ablations']['grid'] = grid
    (tmp_path / 'params.yaml').write_text(yaml.safe_dump({'ablations': params['ablations']}))
    return str(tmp_path / 'params.yaml')


def test_variant_outside_the_grid_is_recorded_as_skipped(tmp_path, monkeypatch):
    params = _workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run_variant('kernel3', params)
    assert r['status'] == 'skipped' and 'ablations.grid: paper' in r['reason']
    saved = json.loads((tmp_path / 'experiments/ablations/results/kernel3.json').read_text())
    assert saved['status'] == 'skipped' and saved['table03'] == 'kernel3'
    r = run_variant('simcc_res50', params)
    assert r['status'] == 'unsupported'
    assert not os.path.exists(tmp_path / 'experiments/runs')


def test_bad_grid_and_unknown_variant_are_one_line_errors(tmp_path):
    params = _workspace(tmp_path, grid='huge')
    with pytest.raises(Error, match='ablations.grid must be one of'):
        load_ablations(params)
    params = _workspace(tmp_path)
    with pytest.raises(Error, match="no ablation variant 'kernel42'"):
        run_variant('kernel42', params)
