"""`rtmpose bench --pipeline`: latency per frame of detector + pose (rtmpose.inference.pipeline), the paper's
Table 12 protocol: one frame at a time, 50 warm-up and 200 timed runs, ONNX Runtime with one thread
(rtmpose.harness.timing). Writes reports/bench/pipeline.csv (the `pipeline:` section's bench_csv).

The timed span is the whole frame: detector preprocessing, network and decoding, then every person's
crop, one batched pose call and decoding. With random weights the detector finds nobody, so the pose
stage then runs on the frame's ground-truth boxes (the detector still runs in full and is timed); the
CSV says which boxes were used.
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from rtmpose.inference.pipeline import PipelineSettings, build

COLUMNS = ('det_model', 'det_input', 'pose_model', 'backend', 'threads', 'weights', 'boxes', 'people',
           'det_mean_ms', 'pose_mean_ms', 'mean_ms', 'median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms', 'p90_ms',
           'p99_ms', 'p99_reliable', 'min_ms', 'max_ms', 'iqr_rel', 'drift', 'fps', 'warmup', 'runs', 'paper_ort_ms')
TOTAL_STATS = ('mean_ms', 'median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms', 'p90_ms', 'p99_ms', 'p99_reliable',
               'min_ms', 'max_ms', 'iqr_rel', 'drift', 'fps')

# Published detector + RTMPose pipeline latency, ORT CPU 1 thread (i7-11700), ms: RTMPose paper Table 12
# (reports/paper/table12.yaml, rows '<detector>+<pose model>', column cpu_ms).
PAPER_TABLE, PAPER_COLUMN = 'table12', 'cpu_ms'


def paper_pipeline_ms(det_model: str, pose_model: str) -> float | str:
    from rtmpose.paper import paper_value
    value = paper_value(PAPER_TABLE, f'{det_model}+{pose_model}', PAPER_COLUMN)
    return '' if value is None else value


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
                **{k: total[k] for k in TOTAL_STATS})


def run_pipeline_bench(settings: PipelineSettings, out_csv: str | os.PathLike | None = None,
                       image: np.ndarray | None = None, boxes: np.ndarray | None = None,
                       pose_checkpoint: str | None = None, det_checkpoint: str | None = None,
                       random_weights: bool = False, progress: bool = True) -> list[dict]:
    """Time detector + pose per frame for every `settings.bench_pose_models` (only `settings.pose_model`
    when `pose_checkpoint` is given) and write the table to `out_csv` (default `settings.bench_csv`).

    `image` defaults to the synthetic bench frame, whose ground-truth boxes stand in when the detector
    finds nobody; exports come from the export cache `settings.exports`."""
    from rtmpose.io import write_csv_atomic
    if image is None:
        image, boxes = bench_frame(settings.bench_people)
    names = (settings.pose_model,) if pose_checkpoint else settings.bench_pose_models
    rows = []
    from tqdm import tqdm
    for name in tqdm(names, desc='pipeline bench', unit='model', disable=not progress):
        models = build(replace(settings, pose_model=name), pose_checkpoint, det_checkpoint, random_weights)
        r = pipeline_latency(models, image, boxes, settings.warmup, settings.runs)
        rows.append(dict(det_model=settings.det_model, det_input=models.info['det_input_size'], pose_model=name,
                         backend=settings.backend, threads=settings.threads, weights=models.info['weights'],
                         warmup=settings.warmup, runs=settings.runs,
                         paper_ort_ms=paper_pipeline_ms(settings.det_model, name), **r))
    write_csv_atomic(out_csv or settings.bench_csv, rows, COLUMNS, float_format='.3f')
    return rows


def print_rows(rows: list[dict], out_csv: str | os.PathLike) -> None:
    for r in rows:
        print(f"{r['det_model']} + {r['pose_model']} [{r['backend']}, {r['threads']} thr, {r['weights']} "
              f"weights, {r['people']} people, boxes: {r['boxes']}]: {r['mean_ms']:.2f} ms/frame "
              f"(det {r['det_mean_ms']:.2f}, pose {r['pose_mean_ms']:.2f}; paper {r['paper_ort_ms']})")
    print(f'wrote {out_csv}')


def pipeline_command(settings: PipelineSettings, image_path: str | None = None, pose_checkpoint: str | None = None,
                     det_checkpoint: str | None = None, random_weights: bool = False, progress: bool = True) -> int:
    """`rtmpose bench --pipeline`: time, write `settings.bench_csv`, print one line per pose model."""
    image = None
    if image_path:
        from rtmpose.inference.video import read_image
        image = read_image(image_path)
    from rtmpose.io import folder_locks
    with folder_locks([os.path.dirname(os.path.abspath(settings.bench_csv)), settings.exports], 'bench folder'):
        rows = run_pipeline_bench(settings, None, image, None, pose_checkpoint, det_checkpoint, random_weights,
                                  progress=progress)
        print_rows(rows, settings.bench_csv)
    return 0
