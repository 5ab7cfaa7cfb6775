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


def test_cached_features_equal_a_recomputation_in_the_runs_batches(tmp_path, tiny_data):
    """Same inputs, same kernels: each stored feature equals the frozen backbone's output for the batch the
    run trains on, recomputed here as the run without the cache computes it (autograd on), bit for bit."""
    from rtmpose.data.collate import collate
    from rtmpose.data.meta import get_meta
    from rtmpose.train.data import build_train_set, set_epoch
    from rtmpose.train.feature_cache import epoch_batches
    from rtmpose.train.trainer import build
    donor = _backbone_init(tmp_path, tiny_data)
    cache = tmp_path / 'cache'
    cfg, _ = _run(tmp_path, tiny_data, 'cached', init_backbone=donor, frozen_stages=4, epochs=1, stage2_epochs=0,
                  feature_cache=str(cache))
    (stored_file,) = cache.iterdir()
    stored = torch.load(stored_file, weights_only=True)['features']
    meta = get_meta(cfg.dataset)
    model = build(cfg, meta, torch.device('cpu'))
    ds = build_train_set(cfg, model.codec(), meta)
    set_epoch(ds, 0)
    batches = epoch_batches(len(ds), cfg.seed, 0, cfg.batch_size)
    assert sorted(i for b in batches for i in b) == list(range(len(ds))) and len(batches) > 1
    for idx in batches:
        again = model.backbone(collate([ds[i] for i in idx])['image'].float())[-1]
        assert not again.requires_grad                       # frozen: no gradient reaches the backbone
        assert torch.equal(stored[torch.as_tensor(idx)], again.detach()), idx
    assert stored.abs().max() > 0 and stored.std() > 0       # not a comparison of constants


@pytest.mark.parametrize('channels_last', [False, True])
def test_cached_features_train_the_head_exactly_as_the_frozen_backbone_does(tmp_path, tiny_data, channels_last):
    """Equal features in the same order give the head equal updates: the run with the cache ends with the
    same weights (EMA and raw), bit for bit, as the run that computes the frozen backbone every step."""
    donor = _backbone_init(tmp_path, tiny_data)
    common = dict(init_backbone=donor, frozen_stages=4, epochs=2, stage2_epochs=1, channels_last=channels_last)
    plain_cfg, plain = _run(tmp_path, tiny_data, 'plain', **common)
    cache = tmp_path / 'cache'
    cached_cfg, cached = _run(tmp_path, tiny_data, 'cached', feature_cache=str(cache), **common)
    assert len(os.listdir(cache)) == 2   # one file per epoch
    for name in ('final.pth', 'last.pth'):
        a = read_checkpoint(os.path.join(plain_cfg.out_dir, name))
        b = read_checkpoint(os.path.join(cached_cfg.out_dir, name))
        sa, sb = (a['state_dict'], b['state_dict']) if name == 'final.pth' else (a['model'], b['model'])
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), (name, k)
    donor_sd = read_checkpoint(donor)['state_dict']
    head = [k for k in sa if k.startswith('head.') and sa[k].is_floating_point()]
    assert any(not torch.equal(donor_sd[k], sa[k]) for k in head)   # the head did train
    assert cached['final_loss'] == plain['final_loss']


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
