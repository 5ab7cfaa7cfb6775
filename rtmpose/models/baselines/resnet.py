"""ResNet backbone with mmpose's state-dict names (mmpose/models/backbones/resnet.py, mmpose 1.3.2).

Defaults as the official class: 7x7 stride-2 stem (`conv1`/`bn1`, no deep stem) + 3x3 max-pool,
`pytorch` style (stride on the 3x3 conv of a Bottleneck), strides (1, 2, 2, 2), out_indices (3,),
BN eps 1e-5 / momentum 0.1, Kaiming conv init and zero-initialised last BN of each residual block
(zero_init_residual=True). Only the Bottleneck depths used by the paper's baselines are defined.
"""
from __future__ import annotations

import torch
from torch import nn

from rtmpose.errors import Error

# mmpose ResNet.arch_settings for Bottleneck depths (expansion 4)
ARCH = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        mid = out_channels // self.expansion
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _res_layer(num_blocks: int, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(out_channels))
    blocks = [Bottleneck(in_channels, out_channels, stride, downsample)]
    blocks += [Bottleneck(out_channels, out_channels) for _ in range(1, num_blocks)]
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """ResNet-50/101/152; forward returns the last stage's feature map (N, 2048, H/32, W/32)."""

    def __init__(self, depth: int = 50, in_channels: int = 3, stem_channels: int = 64, base_channels: int = 64):
        super().__init__()
        if depth not in ARCH:
            raise Error(f'ResNet depth {depth} not supported; choose one of {sorted(ARCH)}')
        self.depth = depth
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin, cout = stem_channels, base_channels * Bottleneck.expansion
        for i, (n, stride) in enumerate(zip(ARCH[depth], (1, 2, 2, 2))):
            self.add_module(f'layer{i + 1}', _res_layer(n, cin, cout, stride))
            cin, cout = cout, cout * 2
        self.out_channels = cin
        self.init_weights()

    def init_weights(self) -> None:
        # mmpose ResNet init_cfg: Kaiming (fan_out, relu, normal) on Conv2d, Constant 1 on BN;
        # zero_init_residual=True then zeroes the last BN of every Bottleneck.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        for m in self.modules():
            if isinstance(m, Bottleneck):
                nn.init.constant_(m.bn3.weight, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
