"""Shared by the tests that compare pose-network outputs across kernels, and by those that need an AP that can
move: the float32 tolerance of a forward pass, argmax comparisons that are only made where they are decided,
and a split labelled so that a model's AP on it lies strictly between 0 and 1.

The tolerance. Two float32 evaluations of one network on one input that differ only in their kernels (batch
size, backend, CPU: AVX2 and AVX-512 block every sum differently) differ by rounding alone. Rounding errors
behave as independent, mean-zero variables (the model of Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019): a
float32 sum of n terms, in any order, is off by a random walk of n steps, each at most u = 2**-24 = 6.0e-8
times a partial sum. With fan-in-scaled weights and normalised activations (BN, ScaleNorm) the partial sums
stay within the output's scale, so the error stays below lam * sqrt(n) * u of it, lam = 7 standard
deviations; successive layers add their errors (normalisation keeps them from compounding). RTMPose-t has
43 weighted layers: the longest sum is the head's 7x7 conv over 384 channels, n = 18816
(7 * 137 * 6.0e-8 = 5.8e-5), the others have n <= 1728 (<= 1.8e-5 each), so a logit moves by at most about
42 * 1.8e-5 + 5.8e-5 = 8.1e-4 of the largest logit. FORWARD_RTOL = 1e-3 covers that. (Measured on one
machine: float32 against float64 1.6e-5, PyTorch against ONNX Runtime, OpenVINO and ncnn 2e-5 to 8e-5 of the
largest logit; the bound is not fitted to them.)

A logit that moves by at most tol cannot change an argmax whose top-two margin exceeds 2 * tol, so argmax
(keypoint location) comparisons are made only where the margin exceeds that, and there they are exact.

Seeded weights (rtmpose.seeded) give logits of order 1, but their BN statistics do not match the activations,
and the input-dependent part of the signal shrinks about tenfold per stage: every crop then gets the same
logits to ~1e-5 (the same keypoints, scores equal to 1e-6), so a crop-order mix-up or a ranking of people
could not show. `calibrate_batchnorm` sets the BN statistics from real crops: outputs then vary with the
input (spread across crops ~0.7 of the logits' spread) and keep their clear argmax peaks.
"""
from __future__ import annotations

import json
import os

import numpy as np

FORWARD_RTOL = 1e-3


def logit_tolerance(*logits) -> float:
    """FORWARD_RTOL of the largest |logit| among `logits` (arrays of one model's outputs)."""
    return FORWARD_RTOL * max(float(np.abs(np.asarray(v)).max()) for v in logits)


def top2_margin(logits) -> np.ndarray:
    """Largest minus second-largest value along the last axis."""
    top = np.sort(np.asarray(logits, np.float64), axis=-1)[..., -2:]
    return top[..., 1] - top[..., 0]


def compare_simcc(got: tuple, ref: tuple, min_decided: float = 0.9) -> np.ndarray:
    """Check that SimCC outputs (x, y) of the same inputs through other kernels are within the derived tolerance
    of the reference; return the (N, K) mask of keypoints whose argmax is decided on both axes (top-two margin
    of the reference > 2 * tol), which must be at least `min_decided` of them (else the comparison says little)."""
    tol = logit_tolerance(*ref)
    for g, r in zip(got, ref):
        assert np.asarray(g).shape == np.asarray(r).shape
        err = float(np.abs(np.asarray(g, np.float64) - np.asarray(r, np.float64)).max())
        assert err <= tol, f'logits differ by {err:.3g} > {tol:.3g} (float32 rounding bound)'
    decided = (top2_margin(ref[0]) > 2 * tol) & (top2_margin(ref[1]) > 2 * tol)
    assert decided.mean() >= min_decided, f'only {decided.mean():.0%} of the keypoints have a decided argmax'
    return decided


def calibrate_batchnorm(model, images):
    """Set every BatchNorm's running statistics to those of `images` (one forward pass in training mode, no
    gradient); returns the model in eval mode. See the module docstring for why seeded weights need it."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None                      # cumulative average: exactly this batch's statistics
    model.train()
    with torch.no_grad():
        model(torch.as_tensor(images))
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    return model.eval()


def split_crops(model, data_dir, split: str = 'val'):
    """The normalised GT-box crops (N, 3, h, w) of a prepared split at `model`'s input size, data set order."""
    import torch

    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.prepared import prepared_split
    ann_file, root = prepared_split(data_dir, split)
    ds = TopDownDataset(ann_file, root, model.codec(), 'synthetic', train=False)
    return torch.stack([ds[i]['image'] for i in range(len(ds))])


def input_dependent(model, data_dir, split: str = 'val'):
    """`model` (seeded weights) with BN statistics from the split's crops and their mirror images (what flip
    test feeds it), in eval mode."""
    import torch
    x = split_crops(model, data_dir, split)
    return calibrate_batchnorm(model, torch.cat([x, x.flip(-1)]))


def split_simcc(model, data_dir, split: str = 'val', flip_test: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`model`'s SimCC outputs for the GT-box crops of a prepared split, in data set order, flip-test averaged
    as evaluation does when `flip_test`."""
    from rtmpose.data.meta import get_meta
    from rtmpose.evaluation.predict import simcc_outputs
    x = split_crops(model, data_dir, split)
    sx, sy = simcc_outputs(model.eval(), x, get_meta('synthetic').flip_indices, flip_test=flip_test)
    return sx.numpy(), sy.numpy()


def label_split_with_predictions(model, data_dir, split: str = 'val', noise_px=(0.0, 1.5, 3.0, 6.0),
                                 seed: int = 0, flip_test: bool = True) -> dict:
    """Rewrite the prepared `split` of `data_dir` so each person's keypoints are `model`'s own predictions
    (GT boxes, the evaluation code path, flip test as given) plus Gaussian noise of a per-person size, cycling
    through `noise_px` (image pixels per axis). `model` then scores an AP strictly between 0 and 1 there: the
    noise-free people match at every OKS threshold, the noisiest at few or none. (On the synthetic labels a
    random-weight model scores AP 0, so an equality of two APs would be 0 == 0.)

    Only keypoints whose argmax is decided (top-two margin > 2 x the float32 tolerance) are labelled (v=2);
    the others are unlabelled (v=0), so they count in no OKS and another backend's rounding cannot move the
    AP through them. (Untrained weights leave a few keypoints with two nearly equal top bins; flip test, which
    averages the nose's logits with their mirror image, makes that likelier.) Boxes, areas and images stay.

    Returns noise (per person, annotation order), decided ((N, K) in data set order), tol, and the logits."""
    import torch
    from torch.utils.data import DataLoader

    from rtmpose.data.collate import collate
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split
    from rtmpose.evaluation.predict import predict
    logits = split_simcc(model, data_dir, split, flip_test)
    tol = logit_tolerance(*logits)
    decided = (top2_margin(logits[0]) > 2 * tol) & (top2_margin(logits[1]) > 2 * tol)
    assert decided.mean() >= 0.8, f'only {decided.mean():.0%} of the keypoints have a decided argmax'
    ann_file, root = prepared_split(data_dir, split)
    ds = TopDownDataset(ann_file, root, model.codec(), 'synthetic', train=False)
    with torch.no_grad():
        pred = predict(model, DataLoader(ds, batch_size=64, collate_fn=collate), get_meta('synthetic').flip_indices,
                       flip_test=flip_test, progress=False)
    assert np.array_equal(pred.instance_ids, [inst['ann_id'] for inst in ds.instances])
    by_id = {i: (xy, d) for i, xy, d in zip(pred.instance_ids.tolist(), pred.keypoints, decided)}
    rng = np.random.default_rng(seed)
    with open(ann_file) as f:
        coco = json.load(f)
    sizes = []
    for ann in coco['annotations']:
        if ann['id'] not in by_id:
            continue
        xy, d = by_id[ann['id']]
        sd = noise_px[len(sizes) % len(noise_px)]
        xy = xy + rng.normal(0.0, 1.0, xy.shape) * sd
        v = np.where(d, 2.0, 0.0)[:, None]
        ann['keypoints'] = np.concatenate([xy * (v > 0), v], 1).reshape(-1).tolist()
        ann['num_keypoints'] = int(d.sum())
        sizes.append(sd)
    assert len(sizes) == len(by_id) and 0.0 in sizes and max(sizes) >= 3.0
    tmp = f'{ann_file}.tmp'
    with open(tmp, 'w') as f:
        json.dump(coco, f)
    os.replace(tmp, ann_file)
    return dict(noise=np.asarray(sizes), decided=decided, tol=tol, logits=logits)


def assert_ranking_decided(keypoint_scores, instance_scores, tol: float, keypoint_score_thr: float = 0.2) -> None:
    """The ranking of people cannot change when every keypoint score moves by at most `tol`: no keypoint score
    within tol of the rescoring threshold (the set averaged stays the same), and instance scores (bbox score
    <= 1 times that mean, so moving by <= tol) more than 2 x tol apart. Then AP, which depends on the scores
    only through their order, is equal for two such predictions with the same (labelled) keypoint locations."""
    ks = np.asarray(keypoint_scores, np.float64)
    assert np.abs(ks - keypoint_score_thr).min() > tol
    gaps = np.diff(np.sort(np.asarray(instance_scores, np.float64)))
    assert gaps.min() > 2 * tol, (gaps.min(), tol)
