"""The export accuracy gate: every export is compared with PyTorch eager before anyone may time it.

Two numbers on a fixed set of seeded, normalised-image-like inputs: the max abs difference of the raw
outputs (SimCC logits or heatmaps) and the mean keypoint displacement in input pixels after decoding
with the model's own codec. Beyond the backend/precision tolerance the export is marked failed.
Detectors (raw box/score maps, no keypoints) are judged on the first number only: `decode` is None and
the keypoint fields stay None.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

# (max abs output difference relative to max |PyTorch output|, mean keypoint displacement in px).
# Relative, so seeded-weight peers with large heatmap values are judged like trained models whose logits
# are O(1). fp32 backends only reorder sums; reduced precision gets ~1e-2 relative error and may flip
# near-tied argmaxes.
TOLERANCES: dict[str, tuple[float, float]] = {
    'fp32': (1e-4, 0.05),
    'fp16': (2e-2, 2.0),
    'bf16': (4e-2, 4.0),
    # post-training int8: ~1e-1 relative logit error is normal; whether the AP survives is judged on data by
    # the deploy stage (rtmpose.harness.accuracy), this only catches a broken artifact
    'int8': (0.25, 6.0),
    'mixed': (0.25, 6.0),
}
GATE_SAMPLES = 4
GATE_SEED = 1234


@dataclass
class GateResult:
    passed: bool
    max_abs_diff: float
    rel_diff: float          # max_abs_diff / reference_scale: what the tolerance applies to
    mean_kpt_px: float | None   # None: no keypoints to decode (detectors)
    tol_rel_diff: float
    tol_mean_px: float | None
    samples: int
    reference_scale: float   # max |output| of PyTorch: shows the comparison is not between zeros

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        state = 'passed' if self.passed else 'FAILED'
        line = (f'accuracy gate {state}: max|diff| {self.max_abs_diff:.3g} = {self.rel_diff:.3g} of max|output| '
                f'(tol {self.tol_rel_diff:g}), ')
        if self.mean_kpt_px is None:
            return line + 'raw outputs only (no keypoints to decode)'
        return line + f'mean keypoint shift {self.mean_kpt_px:.3g} px (tol {self.tol_mean_px:g})'



def gate_inputs(input_size: tuple[int, int], n: int = GATE_SAMPLES, seed: int = GATE_SEED) -> np.ndarray:
    from rtmpose.seeded import seeded_images
    w, h = input_size
    return seeded_images(n, h, w, seed=seed).numpy()


def check(run: Callable[[np.ndarray], list[np.ndarray]], model: torch.nn.Module,
          decode: Callable[..., tuple[np.ndarray, np.ndarray]] | None, input_size: tuple[int, int],
          precision: str = 'fp32', tolerance: tuple[float, float] | None = None,
          inputs: np.ndarray | None = None) -> GateResult:
    """Run `run` (a Runner) and PyTorch eager on the gate inputs, one sample at a time (batch 1 exports).

    `decode` None (detectors): only the raw outputs' relative max difference is judged. `inputs`: real crops
    instead of the seeded ones (quantized exports calibrated on data are judged on data of that kind)."""
    x = gate_inputs(input_size) if inputs is None else np.ascontiguousarray(inputs, np.float32)
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x))
    ref = [t.numpy() for t in (ref if isinstance(ref, (tuple, list)) else (ref,))]
    outs = [run(x[i:i + 1]) for i in range(len(x))]
    got = [np.concatenate([o[k] for o in outs]) for k in range(len(ref))]
    tol = tolerance or TOLERANCES[precision]
    tol_px = None if decode is None else tol[1]
    if [g.shape for g in got] != [r.shape for r in ref]:
        shift = None if decode is None else float('inf')
        return GateResult(False, float('inf'), float('inf'), shift, tol[0], tol_px, len(x), 0.0)
    max_abs = max(float(np.abs(g.astype(np.float64) - r).max()) for g, r in zip(got, ref))
    scale = max(float(np.abs(r).max()) for r in ref)
    rel = max_abs / max(scale, 1e-12)
    ok = bool(np.isfinite(rel) and rel <= tol[0])
    shift = None
    if decode is not None:
        k_ref, _ = decode(*ref)
        k_got, _ = decode(*got)
        shift = float(np.linalg.norm(k_got - k_ref, axis=-1).mean())
        ok = ok and shift <= tol[1]
    return GateResult(ok, max_abs, rel, shift, tol[0], tol_px, len(x), scale)
