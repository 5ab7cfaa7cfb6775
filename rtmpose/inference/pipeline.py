"""The detector + pose pipeline: build it on a backend, run it over an image, a folder or a video, and
write the drawn result and a JSON of people per frame.

Outputs are atomic: images and JSON go through temp + rename; a video is written frame by frame into a
temporary container that is finalised and renamed even when the input breaks mid-way, and the JSON then
records how far processing got.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rtmpose.errors import Error
from rtmpose.inference.detector import Detector, DetectorSettings
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.tracker import PoseTracker, TrackerSettings


@dataclass(frozen=True)
class PipelineSettings:
    """Everything `rtmpose demo` reads; the `pipeline:` section of params.yaml uses these names."""
    det_model: str = 'rtmdet-nano'
    det_input_size: int = 0                      # 0: the detector's own (nano 320, tiny 416)
    pose_model: str = 'rtmpose-m'
    bench_pose_models: tuple[str, ...] = ('rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l')
    backend: str = 'onnxruntime'                # a name of rtmpose.deploy.backends.BACKENDS
    precision: str = 'fp32'
    threads: int = 1
    exports: str = 'harness/exports'             # the export cache (rtmpose.deploy.package)
    demo_out: str = 'demo-out'                   # `rtmpose demo`: drawn results + JSON
    bench_csv: str = 'reports/bench/pipeline.csv'   # the pipeline bench's table
    det_interval: int = 1                        # K
    score_thr: float = 0.3
    nms_thr: float = 0.3
    iou_thr: float = 0.3
    expansion: float = 1.25
    kpt_thr: float = 0.5
    pose_nms_thr: float = 0.5
    smooth: bool = True
    beta: float = 0.007
    fc_min: float = 1.0
    fc_d: float = 1.0
    draw_kpt_thr: float = 0.3
    bench_people: int = 1                        # people in the synthetic bench frame
    warmup: int = 50
    runs: int = 200
    max_frames: int = 0                          # video: stop after this many frames (0: all)
    pose_checkpoint: str = ''                    # `rtmpose demo`: trained pose weights ('' : none given)
    det_checkpoint: str = ''                     # trained detector weights: the demo and the pipeline bench
    bench_image: str = ''                        # the pipeline bench's frame ('' : the synthetic bench frame)
    skip_frame_intervals: str = '1,2,5,10'       # the skip-frame stage's detection intervals K
    timing_warmup: int = 5                       # video with ground truth: untimed calls before frame 0
    bootstrap: int = 1000                        # video with ground truth: resamples of the frames

    def validate(self, where: str) -> None:
        if self.threads < 1:
            raise Error(f'{where}: threads must be >= 1, got {self.threads}')
        if self.timing_warmup < 0 or self.bootstrap < 1:
            raise Error(f'{where}: timing_warmup must be >= 0 and bootstrap >= 1')
        parse_intervals(self.skip_frame_intervals, f'{where}: skip_frame_intervals')
        try:
            self.tracker(True)
        except ValueError as e:
            raise Error(f'{where}: {e}') from None

    def tracker(self, video: bool) -> TrackerSettings:
        return TrackerSettings(det_interval=self.det_interval if video else 1, expansion=self.expansion,
                               iou_thr=self.iou_thr, kpt_thr=self.kpt_thr, pose_nms_thr=self.pose_nms_thr,
                               smooth=self.smooth and video, beta=self.beta, fc_min=self.fc_min, fc_d=self.fc_d)


def parse_intervals(text: str | int, where: str) -> list[int]:
    """Detection intervals K from '5' or '1,2,5,10' (distinct, each >= 1, in the order given)."""
    try:
        ks = [int(v) for v in str(text).split(',')]
    except ValueError:
        raise Error(f'{where}: expected K or K1,K2,... (integers >= 1), got {text!r}') from None
    if not ks or min(ks) < 1 or len(set(ks)) != len(ks):
        raise Error(f'{where}: expected distinct integers >= 1, got {text!r}')
    return ks


@dataclass
class Models:
    detector: Detector
    pose: PoseEstimator
    info: dict


def build(settings: PipelineSettings, pose_checkpoint: str | None = None, det_checkpoint: str | None = None,
          random_weights: bool = False, pose_model: str | None = None, per_crop: bool = False) -> Models:
    """Detector and pose estimator on `settings.backend`, both through the export cache (gated exports in
    `settings.exports`; seeded random weights where no checkpoint is given and `random_weights` allows it)."""
    from rtmpose.deploy.package import ExportSpec
    from rtmpose.models import entry
    pose_name = pose_model or settings.pose_model
    det_checkpoint = det_checkpoint or settings.det_checkpoint or None
    entry(pose_name, 'rtmpose')
    entry(settings.det_model, 'detector')
    _need_weights('pose', pose_checkpoint, random_weights, '--pose-checkpoint')
    _need_weights('detector', det_checkpoint, random_weights, '--det-checkpoint')
    det_record, _, det_runner = _open(ExportSpec(settings.det_model, settings.backend, settings.precision,
                                                 det_checkpoint, input_side=settings.det_input_size or None),
                                      settings)
    # dynamic batch: all people of a frame in one call (ncnn/TensorRT runners take what they support)
    _, pose_source, pose_runner = _open(ExportSpec(pose_name, settings.backend, settings.precision, pose_checkpoint,
                                                   dynamic_batch=settings.backend != 'tensorrt'), settings)
    size = det_record['input_size'][0]
    det = Detector(det_runner, DetectorSettings(input_size=size, score_thr=settings.score_thr,
                                                nms_thr=settings.nms_thr))
    pose = PoseEstimator(pose_runner, pose_source.input_size, pose_source.module.codec(), per_crop=per_crop)
    info = dict(det_model=settings.det_model, det_input_size=size, pose_model=pose_name,
                backend=settings.backend, threads=settings.threads,
                weights=f'detector {"trained" if det_checkpoint else "random"}, '
                        f'pose {"trained" if pose_checkpoint else "random"}',
                pose_checkpoint=pose_checkpoint, det_checkpoint=det_checkpoint)
    return Models(det, pose, info)


def _open(spec, settings: PipelineSettings):
    from rtmpose.deploy.package import open_export
    record, source, runner = open_export(spec, settings.exports, settings.threads, verbose=False)
    if runner is None:
        from rtmpose.deploy.gate import GateResult
        raise Error(f'{record["key"]}: the export failed the accuracy gate '
                    f'({GateResult(**record["gate"]).line()}); it stays in {record["dir"]}')
    return record, source, runner


def _need_weights(what: str, checkpoint: str | None, random_weights: bool, flag: str) -> None:
    if checkpoint is None and not random_weights:
        raise Error(f'no {what} checkpoint: pass {flag} PATH, or --params params.yaml for the embedded default\'s '
                    'trained weights (official weights are not downloaded), or --random-weights to exercise the '
                    'pipeline with untrained weights')


def _people(res) -> list[dict]:
    return [dict(id=int(i), box=[round(float(v), 2) for v in b],
                 keypoints=np.round(k, 2).tolist(), keypoint_scores=np.round(s, 4).tolist())
            for i, b, k, s in zip(res.ids, res.boxes, res.keypoints, res.scores)]


def _write_image(path: Path, image: np.ndarray) -> None:
    import cv2
    from rtmpose.io import write_bytes_atomic
    ok, buf = cv2.imencode(path.suffix if path.suffix.lower() in ('.jpg', '.png', '.bmp') else '.jpg', image)
    if not ok:
        raise Error(f'{path}: cannot encode the drawn image')
    write_bytes_atomic(path, buf.tobytes())


def run_source(source: str | os.PathLike, out_dir: str | os.PathLike, models: Models, settings: PipelineSettings,
               progress: bool = True, max_frames: int = 0, timed: bool = False,
               snapshots: Sequence[int] = ()) -> dict:
    """Process `source` and write `<out>/<name>_pose.<ext>` plus `<out>/<name>.json`; returns the JSON.

    Video only: `timed` records each frame's milliseconds (`ms`; the tracker call, after
    `settings.timing_warmup` untimed calls of both models on the first frame); `snapshots` are frame indices
    whose drawn frame is also written as `<out>/frame_<index>.png` (lossless)."""
    from rtmpose.inference.draw import draw_people
    from rtmpose.inference.video import VideoReader, VideoWriter, folder_images, kind_of, read_image
    from rtmpose.io import write_json_atomic
    source, out_dir = Path(source), Path(out_dir)
    kind = kind_of(source)
    doc = dict(input=str(source), kind=kind, settings=asdict(settings), models=models.info, frames=[],
               complete=False, stopped=None)
    json_path = out_dir / f'{source.stem if kind != "folder" else source.name}.json'
    out_dir.mkdir(parents=True, exist_ok=True)

    def draw(img, res):
        return draw_people(img, res.boxes, res.keypoints, res.scores, res.ids, settings.draw_kpt_thr)

    if kind in ('image', 'folder'):
        files = [source] if kind == 'image' else folder_images(source)
        from tqdm import tqdm
        for f in tqdm(files, desc='images', unit='img', disable=not progress or len(files) < 2):
            img = read_image(f)
            res = PoseTracker(models.detector, models.pose, settings.tracker(video=False))(img)
            _write_image(out_dir / f'{f.stem}_pose{f.suffix if f.suffix.lower() in (".jpg", ".png") else ".jpg"}',
                         draw(img, res))
            doc['frames'].append(dict(frame=len(doc['frames']), file=f.name, people=_people(res)))
        doc['complete'] = True
        write_json_atomic(json_path, doc)
        return doc

    reader = VideoReader(source)
    writer = VideoWriter(out_dir / f'{source.stem}_pose.mp4', reader.fps, reader.size)
    tracker = PoseTracker(models.detector, models.pose, settings.tracker(video=True))
    from tqdm import tqdm
    error = None
    keep = set(int(i) for i in snapshots)
    try:
        for i, frame in enumerate(tqdm(reader, total=reader.count or None, desc='video', unit='frame',
                                       disable=not progress)):
            if max_frames and i >= max_frames:
                reader.stopped = f'stopped at --max-frames {max_frames}'
                break
            if timed and i == 0:
                _warm_up(models, frame, settings.timing_warmup)
            start = time.perf_counter()
            res = tracker(frame)
            ms = (time.perf_counter() - start) * 1e3
            drawn = draw(frame, res)
            writer.write(drawn)
            if i in keep:
                _write_image(out_dir / f'frame_{i:04d}.png', drawn)
            doc['frames'].append(dict(frame=i, detected=bool(res.detected), people=_people(res),
                                      **({'ms': round(ms, 3)} if timed else {})))
        doc['stopped'] = reader.stopped
        doc['complete'] = reader.stopped is None
        if max_frames and reader.stopped and reader.stopped.startswith('stopped at'):
            reader.stopped = None   # asked for: not an error
    except (Error, KeyboardInterrupt) as e:
        error = e
        doc['stopped'] = f'interrupted after {len(doc["frames"])} frames ({type(e).__name__}: {e})'
    finally:
        writer.close()
        write_json_atomic(json_path, doc)
    if error is not None:
        raise error
    if reader.stopped:
        raise Error(f'{source}: {reader.stopped}; kept the {len(doc["frames"])} frames processed '
                    f'({writer.path.name}, {json_path.name})')
    return doc


def _warm_up(models: Models, frame: np.ndarray, calls: int) -> None:
    for _ in range(calls):
        boxes = models.detector(frame)[0]
        models.pose(frame, boxes if len(boxes) else np.array([[0, 0, frame.shape[1], frame.shape[0]]], np.float32))


def run_demo(source: str | os.PathLike | None, settings: PipelineSettings, pose_checkpoint: str | None = None,
             det_checkpoint: str | None = None, random_weights: bool = False, out_dir: str | os.PathLike | None = None,
             progress: bool = True, ground_truth: str | os.PathLike | None = None,
             det_intervals: Sequence[int] | None = None, report_dir: str | os.PathLike | None = None,
             stills_reference: str | os.PathLike | None = None) -> dict:
    """`rtmpose demo`: check `source` (image, folder or video), build the models, process it into `out_dir`
    (default `settings.demo_out`), print one summary line per run; returns the JSON document (the metrics
    when `ground_truth` is given).

    Weights: the arguments, else `settings.pose_checkpoint` / `settings.det_checkpoint` (params.yaml
    `pipeline`). A video with `ground_truth` (COCO annotations with frame_index and track_id) is run once per
    detection interval of `det_intervals` (default `settings.det_interval`; with several, each into
    `<out>/K<k>/`), timed per frame, and scored (rtmpose.inference.video_metrics) into `<out>/metrics.json`;
    `report_dir` also gets the skip-frame report and three drawn frames (rtmpose.inference.skip_frame), with
    `stills_reference` (the record of `rtmpose pipeline-accuracy` on the video's frames) beside it."""
    from rtmpose.inference.video import VideoReader, kind_of, read_image
    if not source:
        raise Error('INPUT is required (an image, a folder of images or a video)')
    kind = kind_of(source)   # fail on a missing, unsupported or unreadable input before building anything
    n_video = 0
    if kind == 'image':
        read_image(source)
    elif kind == 'video':
        reader = VideoReader(source)
        n_video = reader.count
        reader.cap.release()
    ks = list(det_intervals or [settings.det_interval])
    coco = _read_ground_truth(ground_truth, kind) if ground_truth else None
    if coco is not None:
        n_truth = len(coco['images'])
        n_frames = min(n_truth, settings.max_frames) if settings.max_frames else n_truth
        if n_video and n_video < n_frames or not settings.max_frames and n_video and n_video != n_truth:
            raise Error(f'{ground_truth}: annotates {n_truth} frames, but {source} has {n_video} '
                        '(--max-frames N scores the first N of both)')
    if (len(ks) > 1 or report_dir) and coco is None:
        raise Error('several --det-interval values and --report need --ground-truth (a video\'s annotations)')
    stills = _read_stills_reference(stills_reference, report_dir) if stills_reference else None
    out_dir = Path(out_dir or settings.demo_out)
    from rtmpose.io import check_writable
    check_writable(out_dir / 'result.json', 'demo output')   # before building anything
    for folder in [report_dir] if report_dir else []:
        check_writable(Path(folder) / 'skip_frame.csv', 'report')
    pose_checkpoint = pose_checkpoint or settings.pose_checkpoint or None
    det_checkpoint = det_checkpoint or settings.det_checkpoint or None
    _need_weights('pose', pose_checkpoint, random_weights, '--pose-checkpoint')   # before creating the folder
    _need_weights('detector', det_checkpoint, random_weights, '--det-checkpoint')
    for path in (pose_checkpoint, det_checkpoint):
        if path and not os.path.isfile(path):
            raise Error(f'{path}: checkpoint not found')
    from rtmpose.io import folder_locks
    with folder_locks([out_dir, settings.exports, report_dir], 'demo folder'):
        models = build(settings, pose_checkpoint, det_checkpoint, random_weights)
        snaps: list[int] = []
        if report_dir:
            from rtmpose.inference.skip_frame import snapshot_frames
            snaps = snapshot_frames(coco, n_frames)
        shown = settings.det_interval if settings.det_interval in ks else ks[0]
        docs = []
        for k in ks:
            run = PipelineSettings(**{**asdict(settings), 'det_interval': k}) if kind == 'video' else settings
            doc = run_source(source, out_dir if len(ks) == 1 else out_dir / f'K{k}', models, run, progress=progress,
                             max_frames=settings.max_frames, timed=coco is not None,
                             snapshots=snaps if k == shown else ())
            n = sum(len(f['people']) for f in doc['frames'])
            print(f'{len(doc["frames"])} frame(s), {n} people in total'
                  f'{f" (detector every {k} frames)" if kind == "video" else ""} -> '
                  f'{out_dir if len(ks) == 1 else out_dir / f"K{k}"}')
            docs.append(doc)
        if coco is None:
            return docs[0]
        metrics = _score(docs, coco, settings, models, source, ground_truth)
        if stills:
            metrics['stills_reference'] = stills
        from rtmpose.io import write_json_atomic
        write_json_atomic(out_dir / 'metrics.json', metrics)
        for e in metrics['entries']:
            ms = e['ms_per_frame']
            print(f'K={e["det_interval"]}: pose AP {e["pose_AP"]:.3f} [{e["pose_AP_ci95"][0]:.3f}, '
                  f'{e["pose_AP_ci95"][1]:.3f}], box AP {e["box_AP"]:.3f}, MOTA {e["mot"]["mota"]:.3f}, '
                  f'{e["mot"]["num_switches"]} ID switches, {ms["mean"]:.2f} ms/frame -> {out_dir / "metrics.json"}')
        if report_dir:
            import shutil

            from rtmpose.inference.skip_frame import write_report
            write_report(metrics, report_dir, shown)
            write_json_atomic(Path(report_dir) / 'video_metrics.json', metrics)
            sub = out_dir if len(ks) == 1 else out_dir / f'K{shown}'
            frames = Path(report_dir) / 'frames'
            frames.mkdir(parents=True, exist_ok=True)
            for old in frames.glob('frame_*.png'):
                old.unlink()
            for i in snaps:
                shutil.copyfile(sub / f'frame_{i:04d}.png', frames / f'frame_{i:04d}.png')
            print(f'skip-frame report -> {report_dir}')
    return metrics


def _read_stills_reference(path: str | os.PathLike, report_dir) -> dict:
    """The record of `rtmpose pipeline-accuracy` on the video's frames (checked before any work)."""
    import json
    if not report_dir:
        raise Error('--stills-reference is shown in the skip-frame report: it needs --report DIR')
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        raise Error(f'{path}: stills reference not found (rtmpose pipeline-accuracy --data-dir VIDEO_DIR '
                    f'--out {path} writes it)') from None
    except (OSError, ValueError) as e:
        raise Error(f'{path}: not a readable JSON file ({e})') from None
    if not isinstance(record, dict) or not all(isinstance(record.get(k), dict) and 'AP' in record[k]
                                               for k in ('gt_boxes', 'detector_boxes', 'box_AP')):
        raise Error(f'{path}: not a record of rtmpose pipeline-accuracy (needs gt_boxes, detector_boxes, box_AP)')
    return record


def _read_ground_truth(path: str | os.PathLike, kind: str) -> dict:
    import json
    if kind != 'video':
        raise Error(f'--ground-truth scores a video; the input is a{"n" if kind == "image" else ""} {kind}')
    try:
        with open(path) as f:
            coco = json.load(f)
    except FileNotFoundError:
        raise Error(f'{path}: ground-truth annotations not found') from None
    except (OSError, ValueError) as e:
        raise Error(f'{path}: not a readable JSON file ({e})') from None
    if not isinstance(coco, dict) or not all(isinstance(coco.get(k), list) for k in ('images', 'annotations')):
        raise Error(f'{path}: not COCO annotations (needs images and annotations lists)')
    if any('frame_index' not in im for im in coco['images']) or any('track_id' not in a for a in coco['annotations']):
        raise Error(f'{path}: not video annotations (images need frame_index, annotations track_id; '
                    'rtmpose prepare synthetic-video writes them)')
    return coco


def _score(docs: list[dict], coco: dict, settings: PipelineSettings, models: Models, source, ground_truth) -> dict:
    from rtmpose.data.meta import get_meta
    from rtmpose.inference.video_metrics import MOT_IOU, MOT_OKS, score_runs
    from rtmpose.io import portable_path
    k = len(coco.get('categories', [{}])[0].get('keypoints', [])) or 17
    meta = next((get_meta(n) for n in ('coco', 'synthetic') if get_meta(n).num_keypoints == k), None)
    if meta is None:
        raise Error(f'{ground_truth}: {k} keypoints per person; the video metrics know COCO\'s 17')
    entries = score_runs(docs, coco, meta.sigmas, settings.expansion, settings.bootstrap, seed=0,
                         where=str(ground_truth))
    return {'video': portable_path(source), 'ground_truth': portable_path(ground_truth),
            'models': models.info, 'mot_oks': MOT_OKS, 'mot_box_iou': MOT_IOU, 'bootstrap': settings.bootstrap,
            'timing': f'per frame after {settings.timing_warmup} warm-up calls; {settings.backend}, '
                      f'{settings.threads} thread(s)',
            'entries': entries}
