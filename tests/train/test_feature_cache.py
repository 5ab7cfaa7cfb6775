"""A frozen backbone (frozen_stages) and the feature cache the embedded ablation grid trains its heads on."""
import os

import pytest
import torch

from rtmpose.checkpoint import read_checkpoint
from rtmpose.errors import Error
from rtmpose.train.config import load_config
from rtmpose.train.trainer import train
from tests.train.conftest import tiny_config


def _run(tmp_path, tiny_data, name, **kw):
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, name=name, **kw))
    metrics = train(cfg, resume=False, progress=False)
    return cfg, metrics


def _backbone_init(tmp_path, tiny_data):
    """A trained backbone to warm-start from (as the grid starts from the `train` stage's run)."""
    cfg, _ = _run(tmp_path, tiny_data, 'donor', epochs=1, stage2_epochs=0)
    return os.path.join(cfg.out_dir, 'final.pth')


def test_frozen_backbone_keeps_its_weights_and_statistics(tmp_path, tiny_data):
    donor = _backbone_init(tmp_path, tiny_data)
    cfg, _ = _run(tmp_path, tiny_data, 'frozen', init_backbone=donor, frozen_stages=4, ema=False)
    before = read_checkpoint(donor)['state_dict']
    after = read_checkpoint(os.path.join(cfg.out_dir, 'final.pth'))['state_dict']
    backbone = [k for k in after if k.startswith('backbone.')]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)   # BN running stats too
    assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith('head.'))


def test_frozen_stages_out_of_range_is_refused(tmp_path, tiny_data):
    with pytest.raises(Error, match='frozen_stages'):
        load_config(experiment=tiny_config(tmp_path, tiny_data, frozen_stages=5))


def test_cached_features_train_the_head_exactly_as_the_frozen_backbone_does(tmp_path, tiny_data):
    donor = _backbone_init(tmp_path, tiny_data)
    common = dict(init_backbone=donor, frozen_stages=4, epochs=2, stage2_epochs=1)
    plain_cfg, plain = _run(tmp_path, tiny_data, 'plain', **common)
    cache = tmp_path / 'cache'
    cached_cfg, cached = _run(tmp_path, tiny_data, 'cached', feature_cache=str(cache), **common)
    assert len(os.listdir(cache)) == 2   # one file per epoch
    a = read_checkpoint(os.path.join(plain_cfg.out_dir, 'final.pth'))['state_dict']
    b = read_checkpoint(os.path.join(cached_cfg.out_dir, 'final.pth'))['state_dict']
    assert a.keys() == b.keys()
    for k in a:
        if k.startswith('backbone.'):
            assert torch.equal(a[k], b[k]), k
        else:   # the backbone ran in batches of 64, not 4: float re-association, amplified a little by Adam
            diff = (a[k].float() - b[k].float()).abs().max()
            assert diff <= 2e-3 * a[k].float().abs().max() + 1e-7, (k, float(diff))
    assert cached['final_loss'] == pytest.approx(plain['final_loss'], rel=1e-4)
    assert cached['AP'] == pytest.approx(plain['AP'], abs=1e-3)


def test_a_second_run_with_another_head_reuses_the_cache_and_a_new_seed_does_not(tmp_path, tiny_data):
    donor = _backbone_init(tmp_path, tiny_data)
    cache = tmp_path / 'cache'
    common = dict(init_backbone=donor, frozen_stages=4, feature_cache=str(cache), epochs=1, stage2_epochs=0)
    _run(tmp_path, tiny_data, 'k7', **common)
    files = set(os.listdir(cache))
    _run(tmp_path, tiny_data, 'k1', model_overrides={'input_size': [64, 64], 'sigma': [1.0, 1.0],
                                                     'final_layer_kernel_size': 1}, **common)
    assert set(os.listdir(cache)) == files          # other head, other sigma: same features
    _run(tmp_path, tiny_data, 'seed22', seed=22, **common)
    assert len(set(os.listdir(cache)) - files) == 1  # other seed: other augmentations


def test_feature_cache_without_a_frozen_backbone_is_refused(tmp_path, tiny_data):
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, feature_cache=str(tmp_path / 'c')))
    with pytest.raises(Error, match='frozen_stages: 4'):
        train(cfg, resume=False, progress=False)
