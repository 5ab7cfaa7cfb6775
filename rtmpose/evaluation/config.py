"""Evaluation settings (`rtmpose eval`, params.yaml section `eval`): one dataclass, defaults only here.

Kept free of heavy imports so `rtmpose --help` can show these defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    checkpoint: str | None = None
    model: str | None = None                  # default: from the checkpoint's own config, else rtmpose-m
    model_overrides: dict = field(default_factory=dict)
    dataset: str | None = None                # DATASET_META key; default: from the checkpoint, else coco
    data_dir: str | None = None               # prepared layout (params.yaml eval.data_dir); default: the checkpoint's
    split: str = 'val'
    bbox_file: str | None = None              # COCO detection results (paper: person detector AP 56.4)
    bbox_score_thr: float = 0.0               # mmpose det_bbox_thr default
    flip_test: bool = True
    nms_thr: float | None = 0.9
    keypoint_score_thr: float = 0.2
    batch_size: int = 64
    num_workers: int = 2
    device: str = 'auto'
    out: str | None = None                    # metrics JSON
    results_file: str | None = None           # COCO keypoint results JSON
    name: str | None = None                   # MLflow run name
    # an exported artifact evaluated in place of the checkpoint's PyTorch model (`rtmpose eval --model-file`);
    # the checkpoint (or the artifact's export.json) still describes the architecture and codec
    model_file: str | None = None
    backend: str | None = None                # default: the artifact's export.json, else its file suffix
    precision: str | None = None              # default: the artifact's export.json, else fp32
    threads: int = 1                          # runtime threads of the artifact
