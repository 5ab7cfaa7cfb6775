"""Generate tests/fixtures/train/ from the real mmengine 0.10.7 / mmdet 3.3.0 (reference environment).

    /work/refenv/bin/python tools/make_train_fixtures.py

1. lr per iteration of the RTMPose param_scheduler (LinearLR warm-up + CosineAnnealingLR
   convert_to_iter_based) on a shrunk schedule; 2. weight decay per parameter name from
   DefaultOptimWrapperConstructor(paramwise_cfg norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate)
   on this suite's rtmpose-t; 3. a state dict averaged by mmdet's ExpMomentumEMA (update_buffers=True).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from make_parity_fixtures import _stub_compiled_ops  # noqa: E402

OUT = 'tests/fixtures/train'
# shrunk schedule: 8 epochs of 5 iterations, warm-up 12 iterations, base lr 4e-3, eta_min 4e-3 * 0.05
SCHED = dict(epochs=8, iters_per_epoch=5, warmup=12, base_lr=4e-3, lr=8e-3)


def lr_sequence() -> list[float]:
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=SCHED['lr'])  # auto-scaled lr; eta_min stays base_lr * 0.05
    e, ipe = SCHED['epochs'], SCHED['iters_per_epoch']
    s1 = LinearLR(opt, start_factor=1e-5, by_epoch=False, begin=0, end=SCHED['warmup'])
    s2 = CosineAnnealingLR.build_iter_from_epoch(opt, eta_min=SCHED['base_lr'] * 0.05, begin=e // 2, end=e,
                                                 T_max=e // 2, by_epoch=True, epoch_length=ipe)
    out = []
    for _ in range(e * ipe):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        s1.step()
        s2.step()
    return out


def decay_table() -> dict[str, float]:
    from mmengine.optim import DefaultOptimWrapperConstructor
    from rtmpose import build_model
    model = build_model('rtmpose-t').train()
    ctor = DefaultOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05)),
        dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
    wrapper = ctor(model)
    names = {id(p): n for n, p in model.named_parameters()}
    table = {}
    for g in wrapper.optimizer.param_groups:
        for p in g['params']:
            table[names[id(p)]] = g['weight_decay']
    return table


def ema_sequence() -> dict[str, np.ndarray]:
    from mmdet.models.layers.ema import ExpMomentumEMA
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 2, 1))
    ema = ExpMomentumEMA(model, momentum=0.0002, gamma=5, update_buffers=True)
    g = torch.Generator().manual_seed(1)
    for _ in range(6):  # updates with changing source weights and BN statistics
        with torch.no_grad():
            for v in model.state_dict().values():
                if v.dtype.is_floating_point:
                    v.add_(torch.randn(v.shape, generator=g) * 0.1)
            model.train()(torch.randn(2, 3, 8, 8, generator=g))
        ema.update_parameters(model)
    return {f'src.{k}': v.numpy() for k, v in model.state_dict().items()} | \
           {f'ema.{k}': v.numpy() for k, v in ema.module.state_dict().items()}


def main() -> None:
    _stub_compiled_ops()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'schedule_and_decay.json'), 'w') as f:
        json.dump({'schedule': SCHED, 'lr': lr_sequence(), 'weight_decay': decay_table(),
                   'source': 'mmengine 0.10.7 LinearLR/CosineAnnealingLR, DefaultOptimWrapperConstructor'},
                  f, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(OUT, 'ema_mmdet.npz'), **ema_sequence())
    print('wrote', OUT)


if __name__ == '__main__':
    main()
