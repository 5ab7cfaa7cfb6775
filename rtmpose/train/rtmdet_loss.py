"""RTMDet's training objective in plain PyTorch, with the semantics of mmdet 3.3.0.

Read top to bottom: box IoU and GIoU (structures/bbox/bbox_overlaps.py), the DynamicSoftLabelAssigner
(task_modules/assigners/dynamic_soft_label_assigner.py: soft centre prior + IoU cost + soft classification cost,
dynamic-k matching as SimOTA), QualityFocalLoss (losses/gfocal_loss.py, use_sigmoid, beta 2) and GIoULoss
(losses/iou_loss.py, loss_weight 2), and RTMDetHead.loss_by_feat (dense_heads/rtmdet_head.py): targets from the
assigner through PseudoSampler, per-level losses, each divided by the batch's summed assignment metrics
(reduce_mean across processes under DDP, clamped at 1). The head init is RTMDetSepBNHead.init_weights
(convs N(0, 0.01), the class bias at prior probability 0.01); backbone and neck convs keep mmdet's
Kaiming-uniform init (a=sqrt(5), fan_in: torch's own Conv2d weight init) with zero biases.

Config values (rtmdet_tiny/nano configs): assigner topk 13, soft_center_radius 3, iou_weight 3;
train_cfg allowed_border -1 (every prior counts), pos_weight -1 (positives weigh 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rtmpose.models.rtmdet import STRIDES

INF = 100000000
EPS = 1.0e-7                                # the assigner's log(IoU + EPS)
F32_EPS = torch.finfo(torch.float32).eps    # weight_reduce_loss: sum / (avg_factor + eps)


@dataclass(frozen=True)
class AssignerSettings:
    topk: int = 13
    soft_center_radius: float = 3.0
    iou_weight: float = 3.0


def box_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Pairwise IoU (N, M) of xyxy boxes (bbox_overlaps mode='iou', is_aligned=False)."""
    area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = torch.max(area1[:, None] + area2[None, :] - overlap, union_eps(overlap, eps))
    return overlap / union


def union_eps(like: torch.Tensor, eps: float) -> torch.Tensor:
    return like.new_tensor([eps])


def aligned_giou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """GIoU of matching rows (bbox_overlaps mode='giou', is_aligned=True)."""
    area1 = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area2 = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    e = union_eps(overlap, eps)
    union = torch.max(area1 + area2 - overlap, e)
    ious = overlap / union
    enclose_wh = (torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2])).clamp(min=0)
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], e)
    return ious - (enclose_area - union) / enclose_area


@dataclass
class Assignment:
    gt_index: torch.Tensor      # (P,) long: 0 background, i + 1 the i-th ground truth
    labels: torch.Tensor        # (P,) long: the class of the assigned ground truth, -1 for background
    max_overlaps: torch.Tensor  # (P,) float: IoU with the assigned ground truth; 0 / -INF elsewhere


def assign(priors: torch.Tensor, scores: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor,
           gt_labels: torch.Tensor, s: AssignerSettings = AssignerSettings()) -> Assignment:
    """DynamicSoftLabelAssigner.assign for one image.

    priors (P, 4): x, y, stride_w, stride_h; scores (P, C): class logits; boxes (P, 4): decoded xyxy predictions;
    gt_boxes (G, 4) xyxy; gt_labels (G,)."""
    num_gt, num_priors = gt_boxes.size(0), boxes.size(0)
    gt_index = boxes.new_zeros((num_priors,), dtype=torch.long)
    centre = priors[:, :2]
    deltas = torch.cat([centre[:, None] - gt_boxes[:, :2], gt_boxes[:, 2:] - centre[:, None]], dim=-1)
    valid = (deltas.min(dim=-1).values > 0).sum(dim=1) > 0     # inside at least one ground-truth box
    valid_boxes, valid_scores = boxes[valid], scores[valid]
    num_valid = valid_boxes.size(0)
    if num_gt == 0 or num_priors == 0 or num_valid == 0:
        return Assignment(gt_index, boxes.new_full((num_priors,), -1, dtype=torch.long),
                          boxes.new_zeros((num_priors,)))
    gt_centre = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2.0
    valid_priors = priors[valid]
    distance = (valid_priors[:, None, :2] - gt_centre[None]).pow(2).sum(-1).sqrt() / valid_priors[:, 2, None]
    soft_centre_prior = torch.pow(10, distance - s.soft_center_radius)
    ious = box_iou(valid_boxes, gt_boxes)
    iou_cost = -torch.log(ious + EPS) * s.iou_weight
    onehot = F.one_hot(gt_labels.to(torch.int64), scores.shape[-1]).float().unsqueeze(0).repeat(num_valid, 1, 1)
    pair_scores = valid_scores.unsqueeze(1).repeat(1, num_gt, 1)
    soft_label = onehot * ious[..., None]
    scale = soft_label - pair_scores.sigmoid()
    cls_cost = (F.binary_cross_entropy_with_logits(pair_scores, soft_label, reduction='none')
                * scale.abs().pow(2.0)).sum(dim=-1)
    cost = cls_cost + iou_cost + soft_centre_prior
    matched_ious, matched_gt = _dynamic_k(cost, ious, num_gt, valid, s.topk)
    gt_index[valid] = matched_gt + 1
    labels = gt_index.new_full((num_priors,), -1)
    labels[valid] = gt_labels[matched_gt].long()
    max_overlaps = gt_index.new_full((num_priors,), -INF, dtype=torch.float32)
    max_overlaps[valid] = matched_ious
    return Assignment(gt_index, labels, max_overlaps)


def _dynamic_k(cost: torch.Tensor, ious: torch.Tensor, num_gt: int, valid: torch.Tensor, topk: int):
    """Each ground truth takes its k lowest-cost priors, k = int(sum of its top-`topk` IoUs) >= 1; a prior
    claimed twice keeps its cheapest ground truth. Narrows `valid` in place to the matched priors."""
    matching = torch.zeros_like(cost, dtype=torch.uint8)
    top_ious, _ = torch.topk(ious, min(topk, ious.size(0)), dim=0)
    dynamic_ks = torch.clamp(top_ious.sum(0).int(), min=1)
    for g in range(num_gt):
        _, pos = torch.topk(cost[:, g], k=int(dynamic_ks[g]), largest=False)
        matching[:, g][pos] = 1
    multiple = matching.sum(1) > 1
    if multiple.sum() > 0:
        _, cheapest = torch.min(cost[multiple, :], dim=1)
        matching[multiple, :] *= 0
        matching[multiple, cheapest] = 1
    fg = matching.sum(1) > 0
    valid[valid.clone()] = fg
    return (matching * ious).sum(1)[fg], matching[fg, :].argmax(1)


def quality_focal_loss(logits: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor,
                       beta: float = 2.0) -> torch.Tensor:
    """Per-prior QFL (P,), logits (P, C); labels (P,) with C for background; scores (P,) the IoU targets."""
    p = logits.sigmoid()
    loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction='none') * p.pow(beta)
    pos = ((labels >= 0) & (labels < logits.size(1))).nonzero().squeeze(1)
    pos_label = labels[pos].long()
    scale = scores[pos] - p[pos, pos_label]
    loss[pos, pos_label] = F.binary_cross_entropy_with_logits(
        logits[pos, pos_label], scores[pos], reduction='none') * scale.abs().pow(beta)
    return loss.sum(dim=1)


@dataclass(frozen=True)
class LossSettings:
    qfl_beta: float = 2.0
    qfl_weight: float = 1.0
    giou_weight: float = 2.0
    giou_eps: float = 1e-6
    assigner: AssignerSettings = AssignerSettings()


def level_priors(sizes: list[tuple[int, int]], strides=STRIDES, device=None) -> list[torch.Tensor]:
    """MlvlPointGenerator(offset=0).grid_priors(with_stride=True): per level (H*W, 4) x, y, stride, stride."""
    out = []
    for (h, w), s in zip(sizes, strides):
        xs = torch.arange(w, device=device, dtype=torch.float32) * s
        ys = torch.arange(h, device=device, dtype=torch.float32) * s
        xx, yy = xs.repeat(len(ys)), ys.view(-1, 1).repeat(1, len(xs)).view(-1)
        out.append(torch.stack([xx, yy, torch.full_like(xx, s), torch.full_like(yy, s)], dim=-1))
    return out


def distance2bbox(points: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    x1 = points[..., 0] - distance[..., 0]
    y1 = points[..., 1] - distance[..., 1]
    x2 = points[..., 0] + distance[..., 2]
    y2 = points[..., 1] + distance[..., 3]
    return torch.stack([x1, y1, x2, y2], -1)


def rtmdet_loss(cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor], gt_boxes: list[torch.Tensor],
                gt_labels: list[torch.Tensor], s: LossSettings = LossSettings(),
                reduce_mean=None, per_level: dict | None = None) -> dict[str, torch.Tensor]:
    """RTMDetHead.loss_by_feat. cls_scores / bbox_preds: per level (N, C, H, W) logits and (N, 4, H, W)
    distances in input pixels (the model's raw outputs); gt_boxes / gt_labels: per image (G, 4) xyxy in input
    pixels and (G,). `reduce_mean` averages a scalar tensor across processes (None: single process).
    Returns loss_cls and loss_bbox (each summed over levels, as mmengine's parse_losses) and `loss`; `per_level`,
    when given, receives each level's values as floats (loss_cls_8, ..., loss_bbox_32, as mmdet logs them)."""
    n = cls_scores[0].size(0)
    num_classes = cls_scores[0].size(1)
    priors = level_priors([tuple(c.shape[-2:]) for c in cls_scores], device=cls_scores[0].device)
    flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(n, -1, num_classes) for c in cls_scores], 1)
    decoded = [distance2bbox(p, b.permute(0, 2, 3, 1).reshape(n, -1, 4)) for p, b in zip(priors, bbox_preds)]
    flat_boxes = torch.cat(decoded, 1)
    all_priors = torch.cat(priors)
    labels, label_w, box_t, metrics = [], [], [], []
    for i in range(n):
        a = assign(all_priors, flat_cls[i].detach(), flat_boxes[i].detach(), gt_boxes[i], gt_labels[i], s.assigner)
        pos = torch.nonzero(a.gt_index > 0, as_tuple=False).squeeze(-1).unique()
        neg = torch.nonzero(a.gt_index == 0, as_tuple=False).squeeze(-1).unique()
        num = all_priors.size(0)
        t = torch.zeros_like(all_priors)
        lab = all_priors.new_full((num,), num_classes, dtype=torch.long)
        w = all_priors.new_zeros(num, dtype=torch.float)
        m = all_priors.new_zeros(num, dtype=torch.float)
        if len(pos) > 0:
            pos_gt = a.gt_index[pos] - 1
            t[pos, :] = gt_boxes[i][pos_gt].to(t.dtype)
            lab[pos] = a.labels[pos]
            w[pos] = 1.0
            for g in torch.unique(pos_gt):
                sel = pos[pos_gt == g]
                m[sel] = a.max_overlaps[sel]
        if len(neg) > 0:
            w[neg] = 1.0
        labels.append(lab)
        label_w.append(w)
        box_t.append(t)
        metrics.append(m)
    counts = [p.size(0) for p in priors]
    split = [torch.stack(x).split(counts, dim=1) for x in (labels, label_w, box_t, metrics)]
    losses_cls, losses_box, cls_factors, box_factors = [], [], [], []
    for lvl, (c, b) in enumerate(zip(cls_scores, decoded)):
        lab, w, t, m = (x[lvl] for x in split)
        logits = c.permute(0, 2, 3, 1).reshape(-1, num_classes).contiguous()
        lab, w, m, t, bb = lab.reshape(-1), w.reshape(-1), m.reshape(-1), t.reshape(-1, 4), b.reshape(-1, 4)
        qfl = quality_focal_loss(logits, lab, m, s.qfl_beta)
        losses_cls.append(s.qfl_weight * (qfl * w).sum() / (1.0 + F32_EPS))
        pos = ((lab >= 0) & (lab < num_classes)).nonzero().squeeze(1)
        if len(pos) > 0:
            weight = m[pos]
            if not torch.any(weight > 0):
                box_loss = (bb[pos] * weight.unsqueeze(1)).sum()
            else:
                giou = aligned_giou(bb[pos], t[pos], s.giou_eps)
                box_loss = s.giou_weight * ((1 - giou) * weight).sum() / (1.0 + F32_EPS)
            box_factor = weight.sum()
        else:
            box_loss = bb.sum() * 0
            box_factor = t.new_tensor(0.)
        losses_box.append(box_loss)
        cls_factors.append(m.sum())
        box_factors.append(box_factor)
    reduce = reduce_mean or (lambda x: x)
    cls_avg = reduce(sum(cls_factors)).clamp_(min=1).item()
    box_avg = reduce(sum(box_factors)).clamp_(min=1).item()
    losses_cls = [x / cls_avg for x in losses_cls]
    losses_box = [x / box_avg for x in losses_box]
    if per_level is not None:
        for stride, c, b in zip(STRIDES, losses_cls, losses_box):
            per_level[f'loss_cls_{stride}'] = float(c.detach())
            per_level[f'loss_bbox_{stride}'] = float(b.detach())
    loss_cls = sum(losses_cls)
    loss_bbox = sum(losses_box)
    return {'loss_cls': loss_cls, 'loss_bbox': loss_bbox, 'loss': loss_cls + loss_bbox}


def bias_init_with_prob(prior_prob: float) -> float:
    return float(-math.log((1 - prior_prob) / prior_prob))


def init_detector_weights(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """mmdet's init of a fresh RTMDet: backbone and neck convs Kaiming-uniform (a=sqrt(5), fan_in, leaky_relu)
    with zero bias, BN weight 1 / bias 0; head convs N(0, 0.01) with zero bias, rtm_cls bias at prior 0.01."""
    for module in (model.backbone, model.neck):
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), mode='fan_in', nonlinearity='leaky_relu',
                                         generator=generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    head = model.bbox_head
    for m in head.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.01, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for cls in head.rtm_cls:
        nn.init.constant_(cls.bias, bias_init_with_prob(0.01))
