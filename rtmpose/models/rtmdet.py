"""RTMDet person detector (nano, tiny) in plain PyTorch, with mmdet 3.3.0 module names.

Backbone: rtmpose.models.cspnext.CSPNeXt (out_indices 2, 3, 4). Neck: CSPNeXtPAFPN. Head: RTMDetSepBNHead
(separate BN per level, optionally shared convs). The module returns the raw head outputs (per level class
logits and distances in input pixels), which is what is exported; priors, decoding and NMS live in
`rtmpose.models.rtmdet_decode` and run in numpy.

References (mmdet 3.3.0): models/necks/cspnext_pafpn.py, models/dense_heads/rtmdet_head.py
(RTMDetSepBNHead), configs/rtmdet/rtmdet_l_8xb32-300e_coco.py, rtmdet_s/rtmdet_tiny; mmpose 1.3.2
demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py (= projects/rtmpose/rtmdet/person).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from rtmpose.errors import Error
from rtmpose.models.cspnext import ConvModule, CSPLayer, CSPNeXt, DepthwiseSeparableConvModule

# DetDataPreprocessor of rtmdet_l_8xb32-300e_coco.py: BGR in, bgr_to_rgb=False, so these are B, G, R.
DET_MEAN = (103.53, 116.28, 123.675)
DET_STD = (57.375, 57.12, 58.395)
STRIDES = (8, 16, 32)   # MlvlPointGenerator(offset=0, strides=[8, 16, 32])


@dataclass(frozen=True)
class RTMDetConfig:
    deepen_factor: float
    widen_factor: float
    neck_channels: int            # CSPNeXtPAFPN out_channels == head in/feat channels
    use_depthwise: bool
    share_conv: bool
    exp_on_reg: bool = False
    input_size: int = 320         # square test scale (Resize keep_ratio + Pad 114)
    num_classes: int = 1          # person
    stacked_convs: int = 2
    pred_kernel_size: int = 1
    num_csp_blocks: int = 1
    # every RTMDet config sets norm_cfg=dict(type='SyncBN'): mmcv's defaults eps 1e-5, momentum 0.1
    # (the CSPNeXt / PAFPN / head class defaults eps 1e-3, momentum 0.03 are overridden).
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1

    @property
    def backbone_channels(self) -> tuple[int, int, int]:
        return tuple(int(c * self.widen_factor) for c in (256, 512, 1024))


DETECTOR_CONFIGS: dict[str, RTMDetConfig] = {
    # mmpose demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py: share_conv=False (a shared conv
    # cannot be set on a depthwise-separable module), exp_on_reg=False, use_depthwise everywhere.
    'rtmdet-nano': RTMDetConfig(0.33, 0.25, 64, use_depthwise=True, share_conv=False, input_size=320),
    # No person config for tiny ships with mmdet 3.3.0 / mmpose 1.3.2: mmdet configs/rtmdet/
    # rtmdet_tiny_8xb32-300e_coco.py with num_classes=1 (share_conv=True from the l base); the coco config
    # tests at 640, 416 is the input size used here for the person pipeline (overridable).
    'rtmdet-tiny': RTMDetConfig(0.167, 0.375, 96, use_depthwise=False, share_conv=True, input_size=416),
}
DETECTOR_NAMES = tuple(DETECTOR_CONFIGS)


class CSPNeXtPAFPN(nn.Module):
    """Top-down then bottom-up path over three levels, CSP blocks without channel attention."""

    def __init__(self, in_channels: tuple[int, ...], out_channels: int, num_csp_blocks: int,
                 use_depthwise: bool, **bn):
        super().__init__()
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        csp = dict(num_blocks=num_csp_blocks, add_identity=False, expand_ratio=0.5,
                   channel_attention=False, use_depthwise=use_depthwise, **bn)
        self.in_channels = tuple(in_channels)
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        self.reduce_layers = nn.ModuleList()
        self.top_down_blocks = nn.ModuleList()
        for i in range(len(in_channels) - 1, 0, -1):
            self.reduce_layers.append(ConvModule(in_channels[i], in_channels[i - 1], 1, **bn))
            self.top_down_blocks.append(CSPLayer(in_channels[i - 1] * 2, in_channels[i - 1], **csp))
        self.downsamples = nn.ModuleList()
        self.bottom_up_blocks = nn.ModuleList()
        for i in range(len(in_channels) - 1):
            self.downsamples.append(conv(in_channels[i], in_channels[i], 3, stride=2, **bn))
            self.bottom_up_blocks.append(CSPLayer(in_channels[i] * 2, in_channels[i + 1], **csp))
        self.out_convs = nn.ModuleList(conv(c, out_channels, 3, **bn) for c in in_channels)

    def forward(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        n = len(self.in_channels)
        inner = [inputs[-1]]
        for j, i in enumerate(range(n - 1, 0, -1)):
            high = self.reduce_layers[j](inner[0])
            inner[0] = high
            inner.insert(0, self.top_down_blocks[j](torch.cat([self.upsample(high), inputs[i - 1]], 1)))
        outs = [inner[0]]
        for i in range(n - 1):
            down = self.downsamples[i](outs[-1])
            outs.append(self.bottom_up_blocks[i](torch.cat([down, inner[i + 1]], 1)))
        return tuple(conv(o) for conv, o in zip(self.out_convs, outs))


class RTMDetSepBNHead(nn.Module):
    """Per level: stacked 3x3 convs (cls and reg branches, own BN), then 1x1 predictors.

    With `share_conv` the conv weights of every level are the level-0 modules (BN stays per level),
    exactly as mmdet assigns `cls_convs[n][i].conv = cls_convs[0][i].conv`; the state dict then holds
    the same tensor under each level's name, as official checkpoints do.
    """

    def __init__(self, cfg: RTMDetConfig, **bn):
        super().__init__()
        ch = cfg.neck_channels
        conv = DepthwiseSeparableConvModule if cfg.use_depthwise else ConvModule
        if cfg.share_conv and cfg.use_depthwise:
            raise Error('RTMDet: share_conv needs plain convs (mmdet shares `.conv`, absent with use_depthwise)')
        self.exp_on_reg = cfg.exp_on_reg
        self.strides = STRIDES
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.rtm_cls = nn.ModuleList()
        self.rtm_reg = nn.ModuleList()
        k = cfg.pred_kernel_size
        for _ in STRIDES:
            self.cls_convs.append(nn.ModuleList(conv(ch, ch, 3, **bn) for _ in range(cfg.stacked_convs)))
            self.reg_convs.append(nn.ModuleList(conv(ch, ch, 3, **bn) for _ in range(cfg.stacked_convs)))
            self.rtm_cls.append(nn.Conv2d(ch, cfg.num_classes, k, padding=k // 2))
            self.rtm_reg.append(nn.Conv2d(ch, 4, k, padding=k // 2))
        if cfg.share_conv:
            for n in range(1, len(STRIDES)):
                for i in range(cfg.stacked_convs):
                    self.cls_convs[n][i].conv = self.cls_convs[0][i].conv
                    self.reg_convs[n][i].conv = self.reg_convs[0][i].conv

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        cls_scores, bbox_preds = [], []
        for i, (x, stride) in enumerate(zip(feats, self.strides)):
            c, r = x, x
            for layer in self.cls_convs[i]:
                c = layer(c)
            for layer in self.reg_convs[i]:
                r = layer(r)
            reg = self.rtm_reg[i](r)
            cls_scores.append(self.rtm_cls[i](c))
            bbox_preds.append((reg.exp() if self.exp_on_reg else reg) * stride)
        return cls_scores, bbox_preds


class RTMDet(nn.Module):
    """Input: (N, 3, S, S) BGR normalised with DET_MEAN/DET_STD. Output: 6 tensors, per level
    (8, 16, 32) the class logits (N, C, H, W), then per level the distances (N, 4, H, W) in input pixels
    (left, top, right, bottom), the order the ONNX export names cls_8.., reg_8..."""

    def __init__(self, config: RTMDetConfig):
        super().__init__()
        self.config = config
        bn = dict(bn_eps=config.bn_eps, bn_momentum=config.bn_momentum)
        self.backbone = CSPNeXt(config.deepen_factor, config.widen_factor, out_indices=(2, 3, 4),
                                use_depthwise=config.use_depthwise, **bn)
        self.neck = CSPNeXtPAFPN(config.backbone_channels, config.neck_channels, config.num_csp_blocks,
                                 config.use_depthwise, **bn)
        self.bbox_head = RTMDetSepBNHead(config, **bn)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cls_scores, bbox_preds = self.bbox_head(self.neck(self.backbone(images)))
        return (*cls_scores, *bbox_preds)


OUTPUT_NAMES = tuple(f'cls_{s}' for s in STRIDES) + tuple(f'reg_{s}' for s in STRIDES)


def detector_config(name: str, **overrides) -> RTMDetConfig:
    if name not in DETECTOR_CONFIGS:
        raise Error(f'unknown detector {name!r}; choose one of: {", ".join(DETECTOR_NAMES)}')
    try:
        return replace(DETECTOR_CONFIGS[name], **overrides)
    except TypeError as e:
        raise Error(f'bad setting for {name}: {e}') from None


def build_detector(name: str = 'rtmdet-nano', checkpoint: str | None = None, **overrides) -> RTMDet:
    """RTMDet by name in eval mode; `checkpoint` may be a released mmdet file or a bare state dict,
    loaded with strict key and shape checks."""
    model = RTMDet(detector_config(name, **overrides))
    if checkpoint is not None:
        from rtmpose.checkpoint import load_into
        load_into(model, checkpoint)
    return model.eval()
