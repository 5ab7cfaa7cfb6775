"""The detector + pose pipeline: build it on a backend, run it over an image, a folder or a video, and
write the drawn result and a JSON of people per frame.

Outputs are atomic: images and JSON go through temp + rename; a video is written frame by frame into a
temporary container that is finalised and renamed even when the input breaks mid-way, and the JSON then
records how far processing got.
"""
from __future__ import annotations

import os
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

    def validate(self, where: str) -> None:
        if self.threads < 1:
            raise Error(f'{where}: threads must be >= 1, got {self.threads}')
        try:
            self.tracker(True)
        except ValueError as e:
            raise Error(f'{where}: {e}') from None

    def tracker(self, video: bool) -> TrackerSettings:
        return TrackerSettings(det_interval=self.det_interval if video else 1, expansion=self.expansion,
                               iou_thr=self.iou_thr, kpt_thr=self.kpt_thr, pose_nms_thr=self.pose_nms_thr,
                               smooth=self.smooth and video, beta=self.beta, fc_min=self.fc_min, fc_d=self.fc_d)


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
                weights='random' if random_weights and not (pose_checkpoint and det_checkpoint) else 'checkpoint',
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
        raise Error(f'no {what} checkpoint: pass {flag} PATH (official weights are not downloaded), '
                    'or --random-weights to exercise the pipeline with untrained weights')


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
               progress: bool = True, max_frames: int = 0) -> dict:
    """Process `source` and write `<out>/<name>_pose.<ext>` plus `<out>/<name>.json`; returns the JSON."""
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
    try:
        for i, frame in enumerate(tqdm(reader, total=reader.count or None, desc='video', unit='frame',
                                       disable=not progress)):
            if max_frames and i >= max_frames:
                reader.stopped = f'stopped at --max-frames {max_frames}'
                break
            res = tracker(frame)
            writer.write(draw(frame, res))
            doc['frames'].append(dict(frame=i, detected=bool(res.detected), people=_people(res)))
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


def run_demo(source: str | os.PathLike | None, settings: PipelineSettings, pose_checkpoint: str | None = None,
             det_checkpoint: str | None = None, random_weights: bool = False, out_dir: str | os.PathLike | None = None,
             progress: bool = True) -> dict:
    """`rtmpose demo`: check `source` (image, folder or video), build the models, process it into `out_dir`
    (default `settings.demo_out`), print one summary line; returns the JSON document."""
    from rtmpose.inference.video import VideoReader, kind_of, read_image
    if not source:
        raise Error('INPUT is required (an image, a folder of images or a video)')
    kind = kind_of(source)   # fail on a missing, unsupported or unreadable input before building anything
    if kind == 'image':
        read_image(source)
    elif kind == 'video':
        VideoReader(source).cap.release()
    out_dir = out_dir or settings.demo_out
    from rtmpose.io import check_writable
    check_writable(os.path.join(out_dir, 'result.json'), 'demo output')   # before building anything
    _need_weights('pose', pose_checkpoint, random_weights, '--pose-checkpoint')   # before creating the folder
    _need_weights('detector', det_checkpoint, random_weights, '--det-checkpoint')
    from rtmpose.io import folder_locks
    with folder_locks([out_dir, settings.exports], 'demo folder'):
        models = build(settings, pose_checkpoint, det_checkpoint, random_weights)
        doc = run_source(source, out_dir, models, settings, progress=progress, max_frames=settings.max_frames)
    n = sum(len(f['people']) for f in doc['frames'])
    print(f'{len(doc["frames"])} frame(s), {n} people in total -> {out_dir}')
    return doc
