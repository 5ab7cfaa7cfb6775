"""Pipeline latency per frame (detector + pose), the paper's Table 12 protocol: one frame at a time,
50 warm-up and 200 timed runs, ONNX Runtime with one thread (rtmpose.harness.timing).

The timed span is the whole frame: detector preprocessing, network and decoding, then every person's
crop, one batched pose call and decoding. With random weights the detector finds nobody, so the pose
stage then runs on the frame's ground-truth boxes (the detector still runs in full and is timed); the
CSV says which boxes were used.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import replace

import numpy as np

from rtmpose.inference.pipeline import PipelineSettings, build

COLUMNS = ('det_model', 'det_input', 'pose_model', 'backend', 'threads', 'weights', 'boxes', 'people',
           'det_mean_ms', 'pose_mean_ms', 'mean_ms', 'median_ms', 'p90_ms', 'min_ms', 'max_ms', 'fps',
           'warmup', 'runs', 'paper_ort_ms')

# Published RTMDet-nano + RTMPose pipeline latency, ORT CPU 1 thread (i7-11700), ms: the spec's
# "Pipeline with RTMDet-nano" line (RTMPose paper, Table 12).
PAPER_MS = {'rtmpose-t': 12.403, 'rtmpose-s': 16.658, 'rtmpose-m': 26.613, 'rtmpose-l': 36.311}


def bench_frame(people: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The default frame: a synthetic 640x480 scene with `people` figures, and their boxes."""
    from rtmpose.inference.synthetic import make_video
    v = make_video(n_frames=1, n_people=people, size=(640, 480))
    return v.frames[0], v.boxes[0]


def pipeline_latency(models, image: np.ndarray, boxes: np.ndarray | None, warmup: int, runs: int) -> dict:
    from rtmpose.harness.timing import measure, summarize
    det, pose = models.detector, models.pose
    found = det(image)[0]
    use = found if boxes is None or len(found) else boxes
    source = 'detector' if boxes is None or len(found) else 'ground-truth (detector found none)'

    def frame():
        b = det(image)[0]
        return pose(image, b if source == 'detector' else use)

    det_t = summarize(measure(lambda: det(image), warmup=min(warmup, 10), runs=max(runs // 4, 1)))
    pose_t = summarize(measure(lambda: pose(image, use), warmup=min(warmup, 10), runs=max(runs // 4, 1)))
    total = summarize(measure(frame, warmup=warmup, runs=runs))
    return dict(boxes=source, people=len(use), det_mean_ms=det_t['mean_ms'], pose_mean_ms=pose_t['mean_ms'],
                **{k: total[k] for k in ('mean_ms', 'median_ms', 'p90_ms', 'min_ms', 'max_ms', 'fps')})


def run_bench(settings: PipelineSettings, out_csv: str | os.PathLike, image: np.ndarray | None = None,
              boxes: np.ndarray | None = None, pose_checkpoints: dict | None = None,
              det_checkpoint: str | None = None, random_weights: bool = False,
              work_dir: str = 'harness/pipeline-exports', progress: bool = True) -> list[dict]:
    from rtmpose.io import write_text_atomic
    if image is None:
        image, boxes = bench_frame(settings.bench_people)
    rows = []
    from tqdm import tqdm
    for name in tqdm(settings.bench_pose_models, desc='pipeline bench', unit='model', disable=not progress):
        ckpt = (pose_checkpoints or {}).get(name)
        models = build(replace(settings, pose_model=name), ckpt, det_checkpoint, random_weights, work_dir)
        r = pipeline_latency(models, image, boxes, settings.warmup, settings.runs)
        rows.append(dict(det_model=settings.det_model, det_input=models.info['det_input_size'], pose_model=name,
                         backend=settings.backend, threads=settings.threads, weights=models.info['weights'],
                         warmup=settings.warmup, runs=settings.runs, paper_ort_ms=PAPER_MS.get(name, ''), **r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator='\n')
    w.writeheader()
    for r in rows:
        w.writerow({k: (f'{v:.3f}' if isinstance(v, float) else v) for k, v in r.items()})
    write_text_atomic(out_csv, buf.getvalue())
    return rows
