"""The person detector of the inference pipeline: RTMDet through any runner (PyTorch, ONNX Runtime, OpenVINO,
ncnn), with mmdet's decoding and mmpose's demo filter (rtmpose.models.rtmdet_decode, re-exported here)."""
from __future__ import annotations

import numpy as np

from rtmpose.models.rtmdet_decode import (DetectorSettings, box_iou, decode, grid_priors, nms,  # noqa: F401
                                          person_filter, preprocess, resize_pad)


class Detector:
    """Person detector over any runner that maps (1, 3, S, S) -> the six raw RTMDet outputs."""

    def __init__(self, runner, settings: DetectorSettings = DetectorSettings()):
        self.runner = runner
        self.settings = settings

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, scale_factor = preprocess(image, self.settings.input_size)
        outputs = [np.asarray(o) for o in self.runner(x)]
        boxes, scores = decode(outputs, scale_factor, self.settings)
        return person_filter(boxes, scores, self.settings)
