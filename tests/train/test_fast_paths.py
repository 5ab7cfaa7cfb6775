"""The faster training paths (channels-last, bf16 autocast on CPU, torch.compile) against the fp32 default.

Tolerances, derived from the arithmetic rather than fitted to a CPU:
- channels-last and torch.compile compute the same fp32 sums in another order. A reordered sum of K products
  has a relative error of about sqrt(K) * u (u = 2^-24, the fp32 unit roundoff; Higham & Mary's
  probabilistic bound) times the conditioning k = sum|w x| / |sum w x|; over L layers these add like a random
  walk. RTMPose-t: L ~ 30 convolutions and linear layers, K up to 7 * 7 * 384 = 18816 (the head's 7x7
  convolution): sqrt(30) * sqrt(18816) * 2^-24 = 4.5e-5 per unit of k. We allow 1e-3 of the largest output
  (k up to ~20); a layout or weight-order bug moves outputs by O(1).
- bf16 autocast rounds the inputs and weights of every convolution and matmul to 8 significant bits
  (relative error up to 2^-9 each, so ~2^-8.5 per product) and accumulates in fp32: sqrt(30) * 2^-8.5 = 0.015
  per unit of k over the network. We allow 0.1 of the largest output and 5% of the loss, and require the
  bf16 result to differ from fp32 at all (else bf16 was not used).
The comparisons run the network with BatchNorm in eval mode: in training mode the tiny test batch (4 crops of
64x64, 2x2 maps in the last stage) normalises by statistics over a handful of values, which amplifies any
rounding difference by the inverse of a small standard deviation, a property of the batch, not of the path.
"""
import pytest
import torch

from rtmpose import KLDiscretLoss
from rtmpose.data.collate import collate
from rtmpose.data.meta import get_meta
from rtmpose.train.config import load_config
from rtmpose.train.data import build_train_set, set_epoch
from rtmpose.train.trainer import build, train
from tests.train.conftest import tiny_config

FP32_REORDER = 1e-3
BF16 = 0.1


def _batch_and_model(tmp_path, tiny_data, **kw):
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, **kw))
    meta = get_meta(cfg.dataset)
    torch.manual_seed(0)
    model = build(cfg, meta, torch.device('cpu')).eval()   # BatchNorm on its running statistics (see above)
    ds = build_train_set(cfg, model.codec(), meta)
    set_epoch(ds, 0)
    return cfg, model, collate([ds[i] for i in range(4)])


def _forward_backward(model, batch, channels_last=False, bf16=False):
    x = batch['image'].float()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    model.zero_grad(set_to_none=True)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        sx, sy = model(x)
    loss = KLDiscretLoss(beta=10.0, label_softmax=True, use_target_weight=True)(
        sx.float(), sy.float(), batch['x_labels'].float(), batch['y_labels'].float(), batch['weights'].float())
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return torch.cat([sx.detach().float().flatten(), sy.detach().float().flatten()]), loss.item(), grads


def _rel(a, b):
    return float((a - b).abs().max() / a.abs().max())


def test_channels_last_equals_fp32_within_reordering(tmp_path, tiny_data):
    cfg, model, batch = _batch_and_model(tmp_path, tiny_data)
    ref_out, ref_loss, ref_grads = _forward_backward(model, batch)
    cfg_cl, model_cl, _ = _batch_and_model(tmp_path, tiny_data, name='cl', channels_last=True)
    model_cl.load_state_dict(model.state_dict())
    assert model_cl.backbone.stem[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    out, loss, grads = _forward_backward(model_cl, batch, channels_last=True)
    assert _rel(ref_out, out) <= FP32_REORDER
    assert loss == pytest.approx(ref_loss, rel=FP32_REORDER)
    for n, g in ref_grads.items():   # gradients of the same loss: same tolerance relative to each tensor
        if g.abs().max() > 0:
            assert _rel(g, grads[n]) <= 10 * FP32_REORDER, n   # backward doubles the depth; tails small
    assert ref_out.std() > 0 and ref_loss > 0


def test_bf16_autocast_is_bf16_and_close_to_fp32(tmp_path, tiny_data):
    cfg, model, batch = _batch_and_model(tmp_path, tiny_data)
    ref_out, ref_loss, _ = _forward_backward(model, batch)
    out, loss, _ = _forward_backward(model, batch, bf16=True)
    diff = _rel(ref_out, out)
    assert 0 < diff <= BF16              # different (bf16 really ran), and within bf16 rounding
    assert loss == pytest.approx(ref_loss, rel=0.05)


@pytest.mark.parametrize('option', ['channels_last', 'cpu_bf16'])
def test_trainer_runs_each_fast_path(tmp_path, tiny_data, option):
    """The trainer applies the option (recorded with the run) and trains to a finite loss close to fp32's."""
    import json
    import os
    kw = dict(epochs=1, stage2_epochs=0, val_interval=5, validate_at_end=False, ema=False)
    ref = train(load_config(experiment=tiny_config(tmp_path, tiny_data, name='ref', **kw)), resume=False,
                progress=False)
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, name=option, **{option: True}, **kw))
    got = train(cfg, resume=False, progress=False)
    config = json.load(open(os.path.join(cfg.out_dir, 'config.json')))
    assert config['config'][option] is True
    if option == 'cpu_bf16':
        assert config['derived']['cpu_bf16'] is True
    # three AdamW steps from the same start: Adam's first updates are ~lr * sign(gradient), so the paths stay
    # within their forward tolerance of each other (bf16: 5%, fp32 reordering: 1e-3)
    assert got['final_loss'] == pytest.approx(ref['final_loss'], rel=0.05 if option == 'cpu_bf16' else 1e-2)


@pytest.mark.slow
def test_compiled_model_equals_fp32_within_reordering(tmp_path, tiny_data):
    cfg, model, batch = _batch_and_model(tmp_path, tiny_data)
    ref_out, ref_loss, _ = _forward_backward(model, batch)
    out, loss, _ = _forward_backward(torch.compile(model), batch)
    assert _rel(ref_out, out) <= FP32_REORDER and loss == pytest.approx(ref_loss, rel=FP32_REORDER)
