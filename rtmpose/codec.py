"""SimCC coordinate-classification codec: keypoints <-> per-axis soft labels over sub-pixel bins.

Semantics of mmpose 1.3.2 `SimCCLabel` (smoothing_type='gaussian') and `get_simcc_maximum`.
"""
from __future__ import annotations

import numpy as np


class SimCCCodec:
    """Encode keypoints in input-image pixels to Gaussian labels, and decode logits back.

    input_size: (w, h) of the model input; sigma: (sx, sy) in bins; split_ratio: bins per pixel.
    normalize=True divides labels by sigma*sqrt(2*pi) (RTMPose uses False).
    """

    def __init__(self, input_size: tuple[int, int] = (192, 256),
                 sigma: float | tuple[float, float] = (4.9, 5.66), split_ratio: float = 2.0,
                 normalize: bool = False):
        self.input_size = tuple(input_size)
        self.sigma = np.array([sigma, sigma] if np.isscalar(sigma) else sigma, dtype=np.float64)
        self.split_ratio = float(split_ratio)
        self.normalize = normalize
        w, h = self.input_size
        self.num_bins = (int(np.around(w * split_ratio)), int(np.around(h * split_ratio)))

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """keypoints (N, K, 2), visible (N, K) -> x_labels (N, K, Wb), y_labels (N, K, Hb), weights (N, K).

        A keypoint with visible < 0.5 gets zero labels; one whose 3-sigma window lies wholly outside
        the bins also gets weight 0.
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        n, k, _ = keypoints.shape
        visible = np.ones((n, k), np.float32) if visible is None else np.asarray(visible)
        wb, hb = self.num_bins
        mu = np.around(keypoints * self.split_ratio).astype(np.int64)
        # mmpose keeps the dtype of `visible` for the weights; integer flags become float
        weights = visible.astype(np.result_type(visible.dtype, np.float32), copy=True)
        radius = self.sigma * 3
        lo, hi = mu - radius, mu + radius + 1
        outside = (lo[..., 0] >= wb) | (lo[..., 1] >= hb) | (hi[..., 0] < 0) | (hi[..., 1] < 0)
        labelled = visible >= 0.5
        weights[labelled & outside] = 0
        keep = (labelled & ~outside)[..., None]
        xs = np.arange(wb, dtype=np.float32)
        ys = np.arange(hb, dtype=np.float32)
        x_labels = np.exp(-((xs - mu[..., :1]) ** 2) / (2 * self.sigma[0] ** 2)) * keep
        y_labels = np.exp(-((ys - mu[..., 1:]) ** 2) / (2 * self.sigma[1] ** 2)) * keep
        if self.normalize:
            x_labels = x_labels / (self.sigma[0] * np.sqrt(2 * np.pi))
            y_labels = y_labels / (self.sigma[1] * np.sqrt(2 * np.pi))
        return x_labels.astype(np.float32), y_labels.astype(np.float32), weights

    def decode(self, simcc_x: np.ndarray, simcc_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """simcc_x (N, K, Wb), simcc_y (N, K, Hb) -> keypoints (N, K, 2) in input pixels, scores (N, K).

        Location is the argmax per axis, score is the smaller of the two maxima; where the score is
        <= 0 the bin location is set to -1 before division by the split ratio (as mmpose does).
        """
        simcc_x, simcc_y = np.asarray(simcc_x), np.asarray(simcc_y)
        if simcc_x.ndim == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        locs = np.stack((simcc_x.argmax(-1), simcc_y.argmax(-1)), axis=-1).astype(np.float32)
        scores = np.minimum(simcc_x.max(-1), simcc_y.max(-1))
        locs[scores <= 0.0] = -1
        return locs / self.split_ratio, scores
