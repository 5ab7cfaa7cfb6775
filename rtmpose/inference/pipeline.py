"""The detector + pose pipeline: build it on a backend, run it over an image, a folder or a video, and
write the drawn result and a JSON of people per frame.

Outputs are atomic: images and JSON go through temp + rename; a video is written frame by frame into a
temporary container that is finalised and renamed even when the input breaks mid-way, and the JSON then
records how far processing got.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
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
    backend: str = 'onnxruntime'
    threads: int = 1
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

    def tracker(self, video: bool) -> TrackerSettings:
        return TrackerSettings(det_interval=self.det_interval if video else 1, expansion=self.expansion,
                               iou_thr=self.iou_thr, kpt_thr=self.kpt_thr, pose_nms_thr=self.pose_nms_thr,
                               smooth=self.smooth and video, beta=self.beta, fc_min=self.fc_min, fc_d=self.fc_d)


def settings_from(params: dict | None, **overrides) -> PipelineSettings:
    from rtmpose.settings import build as fill
    s = fill(PipelineSettings, dict(params or {}), 'params.yaml: pipeline')
    if isinstance(s.bench_pose_models, list):
        s = replace(s, bench_pose_models=tuple(s.bench_pose_models))
    known = {f.name for f in fields(PipelineSettings)}
    s = replace(s, **{k: v for k, v in overrides.items() if v is not None and k in known})
    try:
        s.tracker(True)
    except ValueError as e:
        raise Error(str(e)) from None
    return s


@dataclass
class Models:
    detector: Detector
    pose: PoseEstimator
    info: dict


def build(settings: PipelineSettings, pose_checkpoint: str | None = None, det_checkpoint: str | None = None,
          random_weights: bool = False, work_dir: str | os.PathLike = 'harness/pipeline-exports',
          pose_model: str | None = None, per_crop: bool = False) -> Models:
    from rtmpose.inference.backends import build_det, build_pose, make_model_runner
    from rtmpose.models.rtmdet import OUTPUT_NAMES
    pose_name = pose_model or settings.pose_model
    pose_net = build_pose(pose_name, pose_checkpoint, random_weights)
    det_net = build_det(settings.det_model, det_checkpoint, random_weights, settings.det_input_size or None)
    size = det_net.config.input_size
    w, h = pose_net.config.input_size
    det_runner = make_model_runner(det_net, settings.backend, settings.det_model, (1, 3, size, size),
                                   OUTPUT_NAMES, work_dir, settings.threads, checkpoint=det_checkpoint)
    # dynamic batch: all people of a frame in one call (ncnn/TensorRT runners take what they support)
    pose_runner = make_model_runner(pose_net, settings.backend, pose_name, (1, 3, h, w), ('simcc_x', 'simcc_y'),
                                    work_dir, settings.threads, dynamic_batch=settings.backend != 'tensorrt',
                                    checkpoint=pose_checkpoint)
    det = Detector(det_runner, DetectorSettings(input_size=size, score_thr=settings.score_thr,
                                                nms_thr=settings.nms_thr))
    pose = PoseEstimator(pose_runner, (w, h), pose_net.codec(), per_crop=per_crop)
    info = dict(det_model=settings.det_model, det_input_size=size, pose_model=pose_name,
                backend=settings.backend, threads=settings.threads,
                weights='random' if random_weights and not (pose_checkpoint and det_checkpoint) else 'checkpoint',
                pose_checkpoint=pose_checkpoint, det_checkpoint=det_checkpoint)
    return Models(det, pose, info)


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
