"""Top-down inference over a data set: forward (+ flip test), SimCC decode, crop -> image coordinates.

mmpose 1.3.2 RTMCCHead.predict: with flip_test the flipped input's SimCC vectors are mapped back
(left/right swap, x bins reversed) and averaged with the plain ones before decoding; the codec takes
the argmax per axis and the smaller of the two maxima as the score; TopdownPoseEstimator maps the
keypoints back with the aspect-fixed box scale.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from rtmpose.evaluation.coco import Predictions
from rtmpose.topdown import crop_to_image, flip_simcc


@torch.no_grad()
def simcc_outputs(model: torch.nn.Module, images: torch.Tensor, flip_indices: Sequence[int] | None,
                  flip_test: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    sx, sy = model(images)
    if flip_test:
        fx, fy = model(images.flip(-1))
        fx, fy = flip_simcc(fx, fy, list(flip_indices))
        sx, sy = (sx + fx) * 0.5, (sy + fy) * 0.5
    return sx, sy


@torch.no_grad()
def predict(model: torch.nn.Module, loader: Iterable[dict], flip_indices: Sequence[int] | None,
            flip_test: bool = True, device: torch.device | str = 'cpu', progress: bool = True,
            desc: str = 'eval') -> Predictions:
    """Run the model over batches of TopDownDataset items (collated) and return image-space predictions."""
    was_training = model.training
    model.eval()
    codec = model.codec()
    input_size = model.config.input_size
    parts = []
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        images = batch['image'].to(device, non_blocking=True).float()
        sx, sy = simcc_outputs(model, images, flip_indices, flip_test)
        kpts, scores = codec.decode(sx.float().cpu().numpy(), sy.float().cpu().numpy())
        center = np.asarray(batch['center'], np.float32)
        scale = np.asarray(batch['scale'], np.float32)
        kpts = crop_to_image(kpts, center, scale, input_size)
        parts.append(Predictions(
            image_ids=np.asarray(batch['image_id']).reshape(-1).astype(np.int64),
            instance_ids=np.asarray(batch['ann_id']).reshape(-1).astype(np.int64),
            keypoints=kpts.astype(np.float64), keypoint_scores=scores.astype(np.float64),
            bbox_scores=np.asarray(batch['bbox_score'], np.float64).reshape(-1),
            areas=(scale[:, 0] * scale[:, 1]).astype(np.float64)))  # mmpose: prod(bbox_scales)
    model.train(was_training)
    if not parts:
        k = model.config.num_keypoints
        return Predictions(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, k, 2)),
                           np.zeros((0, k)), np.zeros(0), np.zeros(0))
    return Predictions.concat(parts)
