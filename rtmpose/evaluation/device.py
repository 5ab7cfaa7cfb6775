"""The torch device a command runs on (evaluation and training alike)."""
from __future__ import annotations

import torch

from rtmpose.errors import Error


def pick_device(requested: str = 'auto', local_rank: int = 0) -> torch.device:
    """cuda only when asked for or available; a CPU-only machine never touches CUDA further."""
    if requested == 'cpu':
        return torch.device('cpu')
    available = torch.cuda.is_available()
    if requested == 'cuda' and not available:
        raise Error('device cuda requested but no CUDA GPU is available')
    return torch.device('cuda', local_rank) if available else torch.device('cpu')
