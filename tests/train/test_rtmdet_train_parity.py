"""A few RTMDet-nano training steps of `train_detector` against mmengine's own Runner.train running the official
person config (fixture from tools/make_rtmdet_train_fixtures.py in the reference environment: mmdet 3.3.0,
mmengine 0.10.7; docs/reference-environment.md).

Both sides: the same 2-image synthetic set (make_synthetic, regenerated here from the fixture's arguments),
deterministic augmentation (scale_range [1, 1], no HSV, no flip; mmdet's stage-2 pipeline with
ratio_range (1, 1), RandomFlip prob 0, no YOLOXHSVRandomAug), batch 2 (one iteration per epoch), 6 epochs with
a 3-iteration warm-up (t = 0, 1 warm-up, t = 2 flat, t = 3..5 cosine), the same initial weights
(init_detector_weights, seed 0), EMA on, one thread. Compared:
- the inputs: each step's batch, as train_detector builds it, holds exactly the images (after normalisation)
  and gt boxes that mmdet's pipeline and DetDataPreprocessor gave the model, in the same order. The one
  substitution on the mmengine side is the sampler (the tool's TrainerOrderSampler): mmengine's DefaultSampler
  draws torch.randperm(n) from Generator(seed + epoch), torch's DataLoader(shuffle, generator) first draws
  its workers' base seed from the generator and then the permutation, so the two shuffles differ (5 of these
  6 epochs). Left as it is, that order difference alone moves weights by O(lr): AdamW's first updates are
  nearly sign(gradient), and gradients that are float32 noise change sign when a sum is reordered;
- the weight decay of every parameter (DefaultOptimWrapperConstructor, paramwise_cfg of the config);
- per step: loss_cls, loss_bbox (log.csv rows are per-epoch means; one iteration per epoch makes them the
  step's values) and the lr (every mmengine param group has the same lr);
- after the 6 steps: every floating-point tensor of the model's state dict (last.pth 'model') and of the EMA
  (last.pth 'ema' and final.pth), on its first 256 entries (flattened; every entry has moved by then, so a
  divergence anywhere shows there too); the EMA step count.

Tolerances (float32, not fitted): both sides run the same torch ops in the same order on the same data, so
the differences are float32 reorderings (AdamW over one group per parameter in mmengine vs one per decay value
here: same per-tensor single-tensor update; loss summation order). Losses: 1e-5 relative (as
test_rtmdet_loss). lr: 1e-9 relative (closed form here, mmengine's chained recursive form). Weights: an
AdamW step moves a weight by at most ~lr, so steps x lr x 1e-4 = 2.4e-6 absolute; BN running statistics
(momentum 0.1 averages of batch statistics) 1e-5 relative + 1e-6 absolute. The EMA differs from the model
by (1 - m_n) x recent changes (up to 1.4e-3 here, on BN statistics): stored as EMA - model in float16 (keeps
the fixture at ~5 MB), whose rounding (2^-11 relative, < 1e-6) is well inside the weight tolerance; that lag
is also compared on its own, at the float16 precision (an off-by-one in the EMA step count changes it by a
large fraction). Observed (torch 2.13, one thread): losses, model weights and BN statistics bit-equal, lr
within 5e-19, the EMA equal up to the float16 storage (a float32 probe of the tool gave it bit-equal too).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

FIX = Path(__file__).resolve().parents[1] / 'fixtures' / 'rtmdet'


@pytest.fixture(scope='module')
def reference():
    if not (FIX / 'train_steps.npz').exists():
        pytest.skip('tests/fixtures/rtmdet/train_steps.npz missing (tools/make_rtmdet_train_fixtures.py)')
    return dict(np.load(FIX / 'train_steps.npz')), json.loads((FIX / 'train_steps.json').read_text())


@pytest.fixture(scope='module')
def run(reference, tmp_path_factory):
    """train_detector on the fixture's data and settings: (config, last.pth, final.pth)."""
    from rtmpose.checkpoint import read_checkpoint
    from rtmpose.data.synthetic import make_synthetic
    from rtmpose.train.detector import DetectorTrainConfig, train_detector
    _, ref = reference
    tmp = tmp_path_factory.mktemp('rtmdet_parity')
    make_synthetic(tmp / 'data', progress=False, **ref['synthetic'])
    cfg = DetectorTrainConfig(name='parity', runs_dir=str(tmp / 'runs'), data_dir=str(tmp / 'data'),
                              input_size=ref['input_size'], epochs=ref['epochs'], batch_size=2,
                              warmup_iters=ref['warmup_iters'], scale_range=[1.0, 1.0], flip_prob=0.0, hsv=False,
                              seed=ref['seed'], threads=1, val_interval=1000, bootstrap=0)
    threads = torch.get_num_threads()
    try:
        train_detector(cfg, resume=False, progress=False, mlflow=False, max_iters=ref['epochs'])
    finally:
        torch.set_num_threads(threads)
    out = Path(cfg.out_dir)
    return cfg, read_checkpoint(out / 'last.pth'), read_checkpoint(out / 'final.pth')


def test_inputs_and_batch_order_equal_mmdets(reference, run):
    """Each epoch's batch, built as train_detector builds it (DetectionSet, DataLoader(shuffle, generator seeded
    seed + epoch), _collate), holds exactly the normalised uint8 images and the boxes mmdet's pipeline gave the
    model, in the order of the fixture's batch."""
    from torch.utils.data import DataLoader

    from rtmpose.data.prepared import prepared_split
    from rtmpose.train.detector import DetectionSet, _collate, _normalise, _read_boxes
    arrays, ref = reference
    cfg, _, _ = run
    items = _read_boxes(*prepared_split(cfg.data_dir, 'train'))
    want = {it['id']: (_normalise(arrays[f'image_{it["id"]}'].transpose(1, 2, 0)), arrays[f'boxes_{it["id"]}'])
            for it in items}                                  # mmdet's PackDetInputs: (3, S, S) uint8 BGR
    data = DetectionSet(items, cfg, train=True)
    g = torch.Generator()
    for epoch in range(ref['epochs']):
        data.epoch = epoch
        g.manual_seed(cfg.seed + epoch)
        (images, boxes), = list(DataLoader(data, batch_size=cfg.batch_size, shuffle=True, generator=g,
                                           collate_fn=_collate))
        for x, b, i in zip(images, boxes, ref['batch_ids'][epoch], strict=True):
            assert torch.equal(x, want[i][0]), (epoch, i)
            np.testing.assert_array_equal(b.numpy(), want[i][1], err_msg=f'epoch {epoch} image {i}')


def test_weight_decay_per_parameter_equals_mmengine(reference):
    from rtmpose.models.rtmdet import build_detector
    from rtmpose.train.optim import param_groups
    _, ref = reference
    ours = {n: g['weight_decay'] for g in param_groups(build_detector('rtmdet-nano'), 4e-3, 0.05)
            for n in g['names']}
    assert ours == ref['weight_decay']


def test_losses_and_lrs_per_step_equal_mmengine(reference, run):
    _, ref = reference
    _, last, _ = run
    rows = last['log']
    assert [r['iter'] for r in rows] == list(range(1, ref['epochs'] + 1))
    for t, r in enumerate(rows):
        assert len(ref['lr'][t]) == 1                           # every mmengine group at the same lr
        assert r['lr'] == pytest.approx(ref['lr'][t][0], rel=1e-9, abs=1e-15), t
        assert r['loss_cls'] == pytest.approx(ref['loss_cls'][t], rel=1e-5), t
        assert r['loss_bbox'] == pytest.approx(ref['loss_bbox'][t], rel=1e-5), t


def _check_state(got: dict, arrays: dict, ema: bool, atol: float) -> None:
    names = sorted(k[len('model.'):] for k in arrays if k.startswith('model.'))
    assert sorted(k for k, v in got.items() if v.is_floating_point()) == names
    for k in names:
        want = arrays[f'model.{k}']
        if ema:
            want = want + arrays[f'ema_minus_model.{k}'].astype(np.float32)
        ours = got[k].numpy().ravel()[:want.size]      # the fixture keeps each tensor's first entries
        if 'running_' in k:
            np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6, err_msg=k)
        else:
            np.testing.assert_allclose(ours, want, rtol=0, atol=atol, err_msg=k)


def test_weights_and_ema_after_the_steps_equal_mmengine(reference, run):
    arrays, ref = reference
    _, last, final = run
    atol = ref['epochs'] * 4e-3 * 1e-4
    _check_state(last['model'], arrays, ema=False, atol=atol)
    ema = {k[len('module.'):]: v for k, v in last['ema'].items() if k.startswith('module.')}
    assert int(last['ema']['steps']) == ref['ema_steps'] == ref['epochs']
    _check_state(ema, arrays, ema=True, atol=atol)
    _check_state(final['state_dict'], arrays, ema=True, atol=atol)
    # the EMA's lag behind the model, (1 - m_n) x recent changes, is ~1e-3 of a step and would hide inside the
    # weight tolerance: compared on its own, to the float16 rounding of the stored lag (2^-11 relative, 2^-25
    # absolute below float16's normal range) plus 4 float32 ulps of the weight (2^-21 |w|)
    for k, v in ema.items():
        if v.is_floating_point():
            want = arrays[f'ema_minus_model.{k}'].astype(np.float32)
            w = last['model'][k].numpy().ravel()[:want.size]
            lag = v.numpy().ravel()[:want.size] - w
            bound = 2.0 ** -11 * np.abs(want) + 2.0 ** -25 + 2.0 ** -21 * np.abs(w)
            assert (np.abs(lag - want) <= bound).all(), (k, float(np.abs(lag - want).max()))
    assert max(float(np.abs(arrays[k]).max()) for k in arrays if k.startswith('ema_minus_model.')) > 1e-4
