"""AdamW parameter groups, the learning-rate schedule and the EMA of the weights.

Parameter groups follow mmengine 0.10.7 DefaultOptimWrapperConstructor.add_params: a parameter of a
BatchNorm/GroupNorm/LayerNorm/InstanceNorm module gets weight_decay x norm_decay_mult; else a
parameter *named* `bias` gets x bias_decay_mult; everything else (ScaleNorm.g, Scale.scale, GAU
gamma/beta included) keeps the full decay. Shared parameters are counted once (bypass_duplicate).

Schedule (mmpose RTMPose configs, mmengine LinearLR + CosineAnnealingLR in closed form):
lr(t) = lr0 * (s + (1 - s) * t / (warmup - 1)) for t < warmup - 1 (mmengine's total_iters = end - 1); flat lr0 until the cosine begins at
begin = cosine_begin_epoch * iters_per_epoch; then eta_min + (lr0 - eta_min) (1 + cos(pi (t-begin)/T)) / 2.

EMA: mmdet 3.3.0 models/layers/ema.py ExpMomentumEMA on mmengine ExponentialMovingAverage:
the first update copies; update n (n >= 1) uses m_n = (1 - m) exp(-(1 + n) / gamma) + m and
avg = (1 - m_n) avg + m_n src over every floating-point entry of the state dict (update_buffers=True);
integer buffers (num_batches_tracked) keep their first copied value.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def param_groups(model: nn.Module, lr: float, weight_decay: float, norm_decay_mult: float = 0.0,
                 bias_decay_mult: float = 0.0) -> list[dict]:
    """One group per decay value, with the parameter names kept for inspection."""
    seen: set[int] = set()
    groups: dict[float, dict] = {}
    for mod_name, module in model.named_modules():
        is_norm = isinstance(module, _NORMS)
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if is_norm:
                wd = weight_decay * norm_decay_mult
            elif name == 'bias':
                wd = weight_decay * bias_decay_mult
            else:
                wd = weight_decay
            g = groups.setdefault(wd, {'params': [], 'names': [], 'weight_decay': wd, 'lr': lr})
            g['params'].append(p)
            g['names'].append(f'{mod_name}.{name}' if mod_name else name)
    return list(groups.values())


def build_optimizer(model: nn.Module, lr: float, weight_decay: float, norm_decay_mult: float = 0.0,
                    bias_decay_mult: float = 0.0, eps: float = 1e-8) -> torch.optim.AdamW:
    groups = param_groups(model, lr, weight_decay, norm_decay_mult, bias_decay_mult)
    for g in groups:
        g.pop('names')
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, eps=eps)


class Schedule:
    """Iteration-based lr: linear warm-up, flat, cosine to eta_min. `lr(t)` for iteration t (0-based)."""

    def __init__(self, base_lr: float, total_iters: int, iters_per_epoch: int, warmup_iters: int = 1000,
                 warmup_start_factor: float = 1e-5, cosine_begin_epoch: int | None = None,
                 epochs: int | None = None, eta_min: float = 0.0):
        self.base_lr, self.total_iters = base_lr, total_iters
        self.warmup_iters, self.start_factor = warmup_iters, warmup_start_factor
        epochs = epochs if epochs is not None else max(1, total_iters // max(1, iters_per_epoch))
        begin_epoch = epochs // 2 if cosine_begin_epoch is None else cosine_begin_epoch
        self.cos_begin = begin_epoch * iters_per_epoch
        self.cos_len = max(1, epochs * iters_per_epoch - self.cos_begin)
        self.eta_min = eta_min

    def lr(self, t: int) -> float:
        lr = self.base_lr
        if t >= self.cos_begin:
            c = min(t - self.cos_begin, self.cos_len)
            lr = self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * c / self.cos_len)) / 2
        if t < self.warmup_iters - 1:  # mmengine LinearLR: total_iters = end - begin - 1
            lr *= self.start_factor + (1 - self.start_factor) * t / (self.warmup_iters - 1)
        return lr

    def apply(self, optimizer: torch.optim.Optimizer, t: int) -> float:
        lr = self.lr(t)
        for g in optimizer.param_groups:
            g['lr'] = lr
        return lr


class ExpMomentumEMA(nn.Module):
    """Exponential moving average of a model's state dict with YOLOX's annealed momentum."""

    def __init__(self, model: nn.Module, momentum: float = 0.0002, gamma: int = 2000, fixed: tuple[str, ...] = ()):
        """`fixed`: state-dict key prefixes the trainer never changes (a frozen backbone): copied at the first
        update and then left alone, since the average of a constant is that constant."""
        super().__init__()
        if gamma <= 0:
            raise ValueError('gamma must be > 0')
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.momentum, self.gamma = momentum, gamma
        self.fixed = tuple(fixed)
        self.register_buffer('steps', torch.tensor(0, dtype=torch.long))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        n = int(self.steps)
        if n == 0:
            src, avg = model.state_dict(), self.module.state_dict()
            for k, v in avg.items():
                v.copy_(src[k])
        else:
            m = (1 - self.momentum) * math.exp(-float(1 + n) / self.gamma) + self.momentum
            for v, s in self._pairs(model):
                v.mul_(1 - m).add_(s.to(v.dtype), alpha=m)
        self.steps += 1

    def _pairs(self, model: nn.Module) -> list:
        """(average, source) tensors to blend, found once per model: the optimiser, BatchNorm and
        load_state_dict change both in place, so the same tensors stay valid for the whole run."""
        if getattr(self, '_pairs_of', None) != id(model):   # an id: a Module attribute would be registered
            src, avg = model.state_dict(), self.module.state_dict()
            self._pair_list = [(v, src[k]) for k, v in avg.items()
                               if v.dtype.is_floating_point and not (self.fixed and k.startswith(self.fixed))]
            self._pairs_of = id(model)
        return self._pair_list
