"""CSPNeXt backbone (RTMDet's, arch P5), with mmdet 3.3.0 module names so official weights load unchanged.

Reference: mmdet/models/backbones/cspnext.py, mmdet/models/layers/csp_layer.py, se_layer.py,
mmdet/models/backbones/csp_darknet.py (SPPBottleneck), mmcv.cnn ConvModule.
"""
from __future__ import annotations

import torch
from torch import nn

# stage: (in, out, blocks, add_identity, use_spp); mmdet CSPNeXt.arch_settings['P5']
ARCH_P5 = ((64, 128, 3, True, False), (128, 256, 6, True, False),
           (256, 512, 6, True, False), (512, 1024, 3, False, True))


class ConvModule(nn.Module):
    """conv (no bias) -> BN -> SiLU; attribute names `conv`/`bn` as mmcv's ConvModule."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1,
                 bn_eps: float = 1e-5, bn_momentum: float = 0.1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=bn_eps, momentum=bn_momentum)
        self.activate = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.conv(x)))


class DepthwiseSeparableConvModule(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, **bn):
        super().__init__()
        self.depthwise_conv = ConvModule(cin, cin, k, stride, groups=cin, **bn)
        self.pointwise_conv = ConvModule(cin, cout, 1, **bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class CSPNeXtBlock(nn.Module):
    """3x3 conv, then a depthwise-separable 5x5 conv; identity added when shapes match.

    `use_depthwise` makes the 3x3 conv depthwise-separable too (RTMDet-nano).
    """

    def __init__(self, cin: int, cout: int, add_identity: bool, expansion: float = 1.0,
                 kernel_size: int = 5, use_depthwise: bool = False, **bn):
        super().__init__()
        hidden = int(cout * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = conv(cin, hidden, 3, **bn)
        self.conv2 = DepthwiseSeparableConvModule(hidden, cout, kernel_size, **bn)
        self.add_identity = add_identity and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class ChannelAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(self.global_avgpool(x)))


class CSPLayer(nn.Module):
    """Split into a main branch (blocks) and a short branch, concat, channel attention, fuse."""

    def __init__(self, cin: int, cout: int, num_blocks: int, add_identity: bool,
                 expand_ratio: float = 0.5, channel_attention: bool = True, use_depthwise: bool = False,
                 **bn):
        super().__init__()
        mid = int(cout * expand_ratio)
        self.channel_attention = channel_attention
        self.main_conv = ConvModule(cin, mid, 1, **bn)
        self.short_conv = ConvModule(cin, mid, 1, **bn)
        self.final_conv = ConvModule(2 * mid, cout, 1, **bn)
        self.blocks = nn.Sequential(*[CSPNeXtBlock(mid, mid, add_identity, use_depthwise=use_depthwise, **bn)
                                      for _ in range(num_blocks)])
        if channel_attention:
            self.attention = ChannelAttention(2 * mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat((self.blocks(self.main_conv(x)), self.short_conv(x)), dim=1)
        if self.channel_attention:
            out = self.attention(out)
        return self.final_conv(out)


class SPPBottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_sizes=(5, 9, 13), **bn):
        super().__init__()
        mid = cin // 2
        self.conv1 = ConvModule(cin, mid, 1, **bn)
        self.poolings = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in kernel_sizes])
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), cout, 1, **bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.poolings], dim=1))


class CSPNeXt(nn.Module):
    """Stem of three 3x3 convs, then four stages of (stride-2 conv, [SPP], CSPLayer).

    `forward` returns the outputs at `out_indices` (0 = stem, 1..4 = stages) as a tuple, as mmdet does.
    BN defaults are those of `norm_cfg=dict(type='SyncBN')` used by every RTMPose config
    (eps 1e-5, momentum 0.1), not the CSPNeXt class default (eps 1e-3, momentum 0.03).
    `use_depthwise` (RTMDet-nano) makes each stage's stride-2 conv and the blocks' 3x3 convs
    depthwise-separable, as mmdet's CSPNeXt(use_depthwise=True).
    """

    def __init__(self, deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 out_indices: tuple[int, ...] = (4,), expand_ratio: float = 0.5,
                 channel_attention: bool = True, bn_eps: float = 1e-5, bn_momentum: float = 0.1,
                 arch: tuple = ARCH_P5, use_depthwise: bool = False):
        super().__init__()
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.out_indices = tuple(out_indices)
        c0 = arch[0][0] * widen_factor
        self.stem = nn.Sequential(
            ConvModule(3, int(c0 // 2), 3, stride=2, **bn),
            ConvModule(int(c0 // 2), int(c0 // 2), 3, **bn),
            ConvModule(int(c0 // 2), int(c0), 3, **bn))
        self.out_channels = []
        for i, (cin, cout, n, add_identity, use_spp) in enumerate(arch):
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            down = DepthwiseSeparableConvModule if use_depthwise else ConvModule
            layers = [down(cin, cout, 3, stride=2, **bn)]
            if use_spp:
                layers.append(SPPBottleneck(cout, cout, **bn))
            layers.append(CSPLayer(cout, cout, max(round(n * deepen_factor), 1), add_identity,
                                   expand_ratio, channel_attention, use_depthwise, **bn))
            self.add_module(f'stage{i + 1}', nn.Sequential(*layers))
            self.out_channels.append(cout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # mmdet's init_cfg: Kaiming-uniform(a=sqrt(5)) on every Conv2d, which is PyTorch's default.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, name in enumerate(('stem', 'stage1', 'stage2', 'stage3', 'stage4')):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
