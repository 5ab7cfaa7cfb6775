"""Deterministic inputs and weights shared by the parity fixtures generator and the tests.

Values come from numpy's PCG64 stream keyed by (seed, name), so they do not depend on the torch
version or on the order in which keys are visited.
"""
from __future__ import annotations

import zlib

import numpy as np
import torch


def rng_for(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def seeded_state_dict(template: dict[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random but well-scaled values for every tensor of a state dict.

    BN statistics are perturbed (mean ~ N(0, 0.1), var in [0.5, 1.5]) so BN is not the identity.
    """
    out = {}
    for key, t in template.items():
        rng = rng_for(seed, key)
        shape = tuple(t.shape)
        leaf = key.rsplit('.', 1)[-1]
        if leaf == 'num_batches_tracked':
            out[key] = t.clone()
            continue
        if leaf == 'running_var' or (leaf in ('weight', 'g', 'scale') and t.ndim <= 1):
            v = rng.uniform(0.5, 1.5, shape)
        elif leaf in ('running_mean', 'bias', 'beta', 'w') or t.ndim <= 1:
            v = rng.normal(0.0, 0.1, shape)
        elif leaf == 'gamma':
            v = rng.uniform(0.0, 1.0, shape)
        else:  # conv / linear weights: fan-in scaled so activations stay O(1)
            fan_in = int(np.prod(shape[1:]))
            v = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
        out[key] = torch.from_numpy(np.asarray(v, dtype=np.float32)).to(t.dtype)
    return out


def seeded_images(n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Normalised-image-like input (N, 3, H, W)."""
    return torch.from_numpy(rng_for(seed, 'images').normal(0, 1, (n, 3, height, width)).astype(np.float32))


def loss_inputs(seed: int = 2) -> dict[str, np.ndarray]:
    """Predictions, soft targets and weights for KLDiscretLoss parity (N=4, K=17, 256x192 bins)."""
    rng = rng_for(seed, 'loss')
    arrays = dict(pred_x=rng.normal(0, 1, (4, 17, 384)), pred_y=rng.normal(0, 1, (4, 17, 512)),
                  target_x=rng.uniform(0, 1, (4, 17, 384)), target_y=rng.uniform(0, 1, (4, 17, 512)),
                  weights=rng.choice([0.0, 1.0, 0.5], size=(4, 17)))
    return {k: v.astype(np.float32) for k, v in arrays.items()}
