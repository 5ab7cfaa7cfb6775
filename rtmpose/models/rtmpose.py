"""The assembled top-down RTMPose model, the size table and `build_model`.

Sizes and input settings follow mmpose 1.3.2 configs/body_2d_keypoint/rtmpose/coco/*.py and, for x,
configs/body_2d_keypoint/rtmpose/body8/rtmpose-x_8xb256-700e_body8-halpe26-384x288.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from rtmpose.errors import Error
from rtmpose.models.cspnext import CSPNeXt
from rtmpose.models.rtmcc_head import GAUConfig, RTMCCHead

# PoseDataPreprocessor: RGB mean/std on 0..255 pixels, images converted from BGR.
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class RTMPoseConfig:
    """Every architectural field, set explicitly (the mmpose class defaults are not RTMPose's)."""
    deepen_factor: float
    widen_factor: float
    input_size: tuple[int, int] = (192, 256)          # (w, h)
    sigma: tuple[float, float] = (4.9, 5.66)         # SimCC label sigma in bins, (x, y)
    num_keypoints: int = 17
    simcc_split_ratio: float = 2.0
    final_layer_kernel_size: int = 7
    use_gau: bool = True
    gau: GAUConfig = field(default_factory=GAUConfig)
    bn_eps: float = 1e-5                              # SyncBN defaults, as the configs use
    bn_momentum: float = 0.1

    @property
    def in_channels(self) -> int:
        return int(1024 * self.widen_factor)


_SIZES = {'t': (0.167, 0.375), 's': (0.33, 0.5), 'm': (0.67, 0.75), 'l': (1.0, 1.0), 'x': (1.33, 1.25)}
_384 = dict(input_size=(288, 384), sigma=(6.0, 6.93))

MODEL_CONFIGS: dict[str, RTMPoseConfig] = {
    'rtmpose-t': RTMPoseConfig(*_SIZES['t']),
    'rtmpose-s': RTMPoseConfig(*_SIZES['s']),
    'rtmpose-m': RTMPoseConfig(*_SIZES['m']),
    'rtmpose-l': RTMPoseConfig(*_SIZES['l']),
    'rtmpose-m-384x288': RTMPoseConfig(*_SIZES['m'], **_384),
    'rtmpose-l-384x288': RTMPoseConfig(*_SIZES['l'], **_384),
    'rtmpose-x': RTMPoseConfig(*_SIZES['x'], **_384),
}
MODEL_NAMES = tuple(MODEL_CONFIGS)


class RTMPose(nn.Module):
    """CSPNeXt backbone + RTMCC head. Input: normalised RGB crops (N, 3, H, W)."""

    def __init__(self, config: RTMPoseConfig):
        super().__init__()
        self.config = config
        self.backbone = CSPNeXt(config.deepen_factor, config.widen_factor, out_indices=(4,),
                                bn_eps=config.bn_eps, bn_momentum=config.bn_momentum)
        self.head = RTMCCHead(config.in_channels, config.num_keypoints, config.input_size,
                              config.simcc_split_ratio, config.final_layer_kernel_size, config.gau)
        if not config.use_gau:  # roadmap ablation: the 1D representation goes straight to the classifiers
            self.head.gau = nn.Identity()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.backbone(images))

    def codec(self):
        from rtmpose.codec import SimCCCodec
        c = self.config
        return SimCCCodec(c.input_size, c.sigma, c.simcc_split_ratio)


def model_config(name: str, **overrides) -> RTMPoseConfig:
    """The named configuration with fields replaced, e.g. `num_keypoints=133` or a kernel-size ablation."""
    if name not in MODEL_CONFIGS:
        raise Error(f'unknown model {name!r}; choose one of: {", ".join(MODEL_NAMES)}')
    if 'gau' in overrides and isinstance(overrides['gau'], dict):
        overrides['gau'] = GAUConfig(**overrides['gau'])
    try:
        return replace(MODEL_CONFIGS[name], **overrides)
    except TypeError as e:
        raise Error(f'bad setting for {name}: {e}') from None


def build_model(name: str, checkpoint: str | None = None, **overrides) -> RTMPose:
    """Build an RTMPose model by name, in eval mode, optionally loading a checkpoint strictly.

    `checkpoint` may be a released mmpose file, a bare state dict or one of this suite's checkpoints.
    """
    model = RTMPose(model_config(name, **overrides))
    if checkpoint is not None:
        from rtmpose.checkpoint import load_into
        load_into(model, checkpoint)
    return model.eval()
