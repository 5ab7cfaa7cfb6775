"""RTMCCHead: large-kernel conv -> flatten -> ScaleNorm+Linear -> GAU (RTMCCBlock) -> two SimCC classifiers.

Reference: mmpose 1.3.2 models/heads/coord_cls_heads/rtmcc_head.py, models/utils/rtmcc_block.py,
models/utils/transformer.py (ScaleNorm). Module and parameter names match, so official weights load.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GAUConfig:
    """RTMPose's gau_cfg. The head's class defaults in mmpose differ (act ReLU): always set every field."""
    hidden_dims: int = 256
    s: int = 128
    expansion_factor: int = 2
    dropout_rate: float = 0.0
    drop_path: float = 0.0
    act_fn: str = 'SiLU'
    use_rel_bias: bool = False
    pos_enc: bool = False


class ScaleNorm(nn.Module):
    """x / clamp(||x||_2 * dim^-0.5, eps) * g, with one learnable scalar g."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class Scale(nn.Module):
    """Learnable per-channel scale of the residual branch, initialised to 1."""

    def __init__(self, dim: int, init_value: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(init_value * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class DropPath(nn.Module):
    """Stochastic depth per sample (training only)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def rope(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Rotary position embedding along one spatial dimension (mmpose's `rope`)."""
    position = torch.arange(x.shape[dim], dtype=torch.int, device=x.device)
    for _ in range(dim + 1, x.ndim - 1):
        position = position.unsqueeze(-1)
    half = x.shape[-1] // 2
    inv_freq = 10000 ** (torch.arange(half, dtype=torch.int, device=x.device) / float(half))
    sinusoid = position[..., None] * inv_freq[None, None, :]
    sin, cos = torch.sin(sinusoid), torch.cos(sinusoid)
    x1, x2 = torch.chunk(x, 2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class RTMCCBlock(nn.Module):
    """Gated Attention Unit, self-attention form.

    u, v, base = split(act(uv(ScaleNorm(x)))); q, k = base * gamma + beta;
    out = o(u * (relu(q k^T / sqrt(s))^2 @ v)); return Scale(x) + drop_path(out).
    """

    def __init__(self, num_token: int, in_dims: int, out_dims: int, expansion_factor: int = 2,
                 s: int = 128, eps: float = 1e-5, dropout_rate: float = 0.0, drop_path: float = 0.0,
                 act_fn: str = 'SiLU', bias: bool = False, use_rel_bias: bool = True,
                 pos_enc: bool = False):
        super().__init__()
        if act_fn not in ('SiLU', 'ReLU'):
            raise ValueError(f'act_fn must be SiLU or ReLU, not {act_fn!r}')
        self.s, self.num_token = s, num_token
        self.use_rel_bias, self.pos_enc = use_rel_bias, pos_enc
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.e = int(in_dims * expansion_factor)
        if use_rel_bias:
            self.w = nn.Parameter(torch.rand(2 * num_token - 1))
        self.o = nn.Linear(self.e, out_dims, bias=bias)
        self.uv = nn.Linear(in_dims, 2 * self.e + s, bias=bias)
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.ln = ScaleNorm(in_dims, eps=eps)
        nn.init.xavier_uniform_(self.uv.weight)
        self.act_fn = nn.SiLU(True) if act_fn == 'SiLU' else nn.ReLU(True)
        self.shortcut = in_dims == out_dims
        if self.shortcut:
            self.res_scale = Scale(in_dims)
        self.sqrt_s = math.sqrt(s)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else nn.Identity()

    def rel_pos_bias(self, n: int) -> torch.Tensor:
        # Toeplitz matrix of w: bias[i, j] = w[j - i + n - 1].
        t = F.pad(self.w[:2 * n - 1], [0, n]).repeat(n)
        t = t[..., :-n].reshape(-1, n, 3 * n - 2)
        r = (2 * n - 1) // 2
        return t[..., r:-r]

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        uv = self.act_fn(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
        base = base.unsqueeze(2) * self.gamma[None, None, :] + self.beta
        if self.pos_enc:
            base = rope(base, dim=1)
        q, k = torch.unbind(base, dim=2)
        qk = torch.bmm(q, k.permute(0, 2, 1))
        if self.use_rel_bias:
            qk = qk + self.rel_pos_bias(q.size(1))[:, :q.size(1), :k.size(1)]
        kernel = self.dropout(torch.square(F.relu(qk / self.sqrt_s)))
        return self.o(u * torch.bmm(kernel, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop_path(self.attend(x))
        return self.res_scale(x) + out if self.shortcut else out


class RTMCCHead(nn.Module):
    """Maps the last backbone feature map (N, C, h, w) to SimCC logits (N, K, W*r), (N, K, H*r)."""

    def __init__(self, in_channels: int, num_keypoints: int, input_size: tuple[int, int],
                 simcc_split_ratio: float = 2.0, final_layer_kernel_size: int = 7,
                 gau: GAUConfig = GAUConfig(), stride: int = 32):
        super().__init__()
        w, h = input_size
        self.in_featuremap_size = (w // stride, h // stride)
        flatten_dims = self.in_featuremap_size[0] * self.in_featuremap_size[1]
        k = final_layer_kernel_size
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, k, 1, k // 2)
        self.mlp = nn.Sequential(ScaleNorm(flatten_dims),
                                 nn.Linear(flatten_dims, gau.hidden_dims, bias=False))
        self.gau = RTMCCBlock(num_keypoints, gau.hidden_dims, gau.hidden_dims, s=gau.s,
                              expansion_factor=gau.expansion_factor, dropout_rate=gau.dropout_rate,
                              drop_path=gau.drop_path, act_fn=gau.act_fn,
                              use_rel_bias=gau.use_rel_bias, pos_enc=gau.pos_enc)
        self.cls_x = nn.Linear(gau.hidden_dims, int(w * simcc_split_ratio), bias=False)
        self.cls_y = nn.Linear(gau.hidden_dims, int(h * simcc_split_ratio), bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # mmpose default_init_cfg: Conv2d Normal(0.001); Linear Normal(0.01), bias 0.
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, feats: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        x = self.final_layer(feats).flatten(2)
        x = self.gau(self.mlp(x))
        return self.cls_x(x), self.cls_y(x)
