"""KL divergence loss over SimCC bins (mmpose 1.3.2 `KLDiscretLoss`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KLDiscretLoss(nn.Module):
    """KL(softmax(label * label_beta) || softmax(pred * beta)), averaged over bins.

    Each keypoint's loss is multiplied by its target weight, summed over N*K and both axes, and
    divided by K. `beta` is the paper's 1/tau temperature on the model output.
    """

    def __init__(self, beta: float = 10.0, label_softmax: bool = True, use_target_weight: bool = True,
                 label_beta: float = 10.0):
        super().__init__()
        self.beta, self.label_softmax = beta, label_softmax
        self.use_target_weight, self.label_beta = use_target_weight, label_beta

    def _axis(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt = F.log_softmax(pred.reshape(-1, pred.size(-1)) * self.beta, dim=1)
        target = target.reshape(-1, target.size(-1))
        if self.label_softmax:
            target = F.softmax(target * self.label_beta, dim=1)
        return F.kl_div(log_pt, target, reduction='none').mean(dim=1)

    def forward(self, pred_x: torch.Tensor, pred_y: torch.Tensor, target_x: torch.Tensor,
                target_y: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        k = pred_x.shape[1]
        w = weights.reshape(-1) if (self.use_target_weight and weights is not None) else 1.0
        loss = (self._axis(pred_x, target_x) * w).sum() + (self._axis(pred_y, target_y) * w).sum()
        return loss / k
