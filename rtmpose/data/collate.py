"""Batching of TopDownDataset items: one collate function for training and evaluation loaders."""
from __future__ import annotations

import numpy as np
import torch


def collate(items: list[dict]) -> dict:
    """Stack tensors and arrays, turn numbers into tensors, keep anything else as a list."""
    out = {}
    for key in items[0]:
        vals = [it[key] for it in items]
        if isinstance(vals[0], torch.Tensor):
            out[key] = torch.stack(vals)
        elif isinstance(vals[0], np.ndarray):
            out[key] = torch.from_numpy(np.stack(vals))
        elif isinstance(vals[0], (int, float, np.integer, np.floating, bool)):
            out[key] = torch.as_tensor(np.asarray(vals))
        else:
            out[key] = vals
    return out
