"""Parameter and FLOP counts in the paper's convention: one multiply-accumulate = one FLOP.

Counts what OpenMMLab's (fvcore-derived) counter counts, so numbers match the paper and mmpose's
`get_flops`: convolutions and matrix products (MACs, no bias), batch norm at inference (2 per element),
and adaptive average pooling (1 per input element); activations and element-wise ops are free.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def _conv(args, out) -> int:
    # fvcore: batch * prod(weight shape) * prod(spatial), where spatial is the output's for a
    # convolution and the input's for a transposed one (weight (Cin, Cout/g, k..) meets each input pixel)
    x, w = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 else False
    spatial = x.shape[2:] if transposed else out.shape[2:]
    return x.shape[0] * math.prod(w.shape) * math.prod(spatial)


def _bn(args, out) -> int:
    # fvcore: at inference 1 FLOP per element, 2 with an affine weight
    return args[0].numel() * (2 if args[1] is not None else 1)


_COUNTERS = {
    aten.convolution.default: _conv,
    aten.mm.default: lambda a, o: a[0].shape[0] * a[0].shape[1] * a[1].shape[1],
    aten.addmm.default: lambda a, o: a[1].shape[0] * a[1].shape[1] * a[2].shape[1],
    aten.bmm.default: lambda a, o: a[0].shape[0] * a[0].shape[1] * a[0].shape[2] * a[1].shape[2],
    aten._native_batch_norm_legit_no_training.default: _bn,
    aten.native_batch_norm.default: _bn,
    aten._adaptive_avg_pool2d.default: lambda a, o: a[0].numel(),
    # AdaptiveAvgPool2d(1) dispatches as a mean over the two spatial dims
    aten.mean.dim: lambda a, o: a[0].numel(),
}


class MacCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.by_op: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        counter = _COUNTERS.get(func)
        if counter is not None:
            self.by_op[str(func.overloadpacket.__name__)] += int(counter(args, out))
        return out


@dataclass(frozen=True)
class Complexity:
    params: int
    flops: int               # multiply-accumulates, the paper's "FLOPs"
    input_shape: tuple

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def gflops(self) -> float:
        return self.flops / 1e9


def count_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs (MACs) of one eval-mode forward pass on `inputs`."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), MacCounter() as counter:
            module(*inputs)
    finally:
        module.train(was_training)
    return sum(counter.by_op.values())


def complexity(module: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    params = sum(p.numel() for p in module.parameters())
    return Complexity(params, count_flops(module, torch.zeros(input_shape)), tuple(input_shape))


def model_complexity(name: str, num_keypoints: int | None = None, **overrides) -> Complexity:
    """Complexity of any named model (rtmpose.models.create) at its own input size, batch 1;
    `overrides` change its config, e.g. input_size=(256, 256)."""
    from rtmpose.models import create, input_size
    if num_keypoints is not None:
        overrides['num_keypoints'] = num_keypoints
    model = create(name, **overrides)
    w, h = input_size(model)
    return complexity(model, (1, 3, h, w))


@dataclass
class ComplexityConfig:
    """`rtmpose info` settings (params.yaml section `complexity`)."""
    models: list = field(default_factory=list)   # RTMPose model names; empty: every one
    num_keypoints: int = 17


def complexity_rows(models: list[str], num_keypoints: int) -> list[dict]:
    """Parameters and GFLOPs of RTMPose models `models` (all when empty) with `num_keypoints` keypoints,
    one row each as `rtmpose info` prints and writes them."""
    from rtmpose.models import entry, model_names
    rows = []
    for name in models or model_names('rtmpose'):
        entry(name, 'rtmpose')  # a one-line Error for unknown names
        c = model_complexity(name, num_keypoints)
        h, w = c.input_shape[2:]
        rows.append(dict(model=name, input=f'{h}x{w}', num_keypoints=num_keypoints,
                         params=c.params, params_m=round(c.params_m, 3), gflops=round(c.gflops, 4)))
    return rows
