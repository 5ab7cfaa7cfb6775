"""A synthetic video in the embedded data set's style: people walking across one scene, with COCO keypoint
annotations and track ids per frame.

Every figure, background and occluder is drawn by the data set's own renderer (rtmpose.data.synthetic), so a
frame looks like a data set image and its annotations follow the same conventions: keypoints (x, y, v) with
v=2 visible, v=1 covered (by a nearer figure or an occluder), v=0 and (0, 0) outside the image; bbox the tight
xywh box of the figure's drawn pixels inside the image (amodal), area their count, segmentation the outer
contours of that mask. A person with no drawn pixel inside a frame has no annotation in that frame (near an
edge a limb can swing out of the image and back, so a walker's annotated frames may have gaps there).

The scene:
- one static background per video (`_background`);
- `max_people` slots, each holding one walker at a time: a track enters from the left or right edge at its
  start frame (the first track of a slot may already be on its way at frame 0), walks at a constant velocity
  (mostly horizontal; in figure units per second, so nearer people move faster in pixels) and leaves at the
  other edge at its end frame; after a short gap the slot's next track enters, so a frame never shows more
  than `max_people` people;
- a track keeps its body (proportions, scale, clothes' colours); its pose moves smoothly between key poses
  drawn with `_pose_params` every 1 to 2 s (smoothstep in between), plus a walking sway of arms and legs,
  so consecutive frames are coherent;
- depth: larger (nearer) figures stand lower in the frame and are drawn later, so they cover farther ones when
  paths cross;
- occluders: each track, with probability `occluder_prob`, has a static patch of scenery on its path, drawn in
  front of every figure.

Deterministic: every draw comes from np.random.default_rng([seed, 2, stream, index]) (the data set's images
use [seed, split, index] with split 0 or 1), so the same settings give byte-identical frames and JSON.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rtmpose.data.prepared import dump_json, staged_dir
from rtmpose.data.synthetic import (COCO_NAMES, JPEG_QUALITY, _annotation, _background, _categories,
                                    _draw_figure, _joints, _paste, _pose_params)
from rtmpose.errors import Error
from rtmpose.settings import check_ranges

VIDEO_ID = 1
_VIDEO_STREAM = 2                       # the data set's images use streams 0 (train) and 1 (val)
_SCENE, _SCHEDULE, _BODY, _LOOK, _OCCLUDER = range(5)
# pose parameters that move between key poses; the others (proportions) stay those of the first key pose
_MOVING = ('lean', 'yaw') + tuple(f'{s}_{a}' for s in ('left', 'right') for a in ('a1', 'a2', 'b1', 'b2'))
_FOOT = 3.6                             # hip to sole of a standing figure, in units u


@dataclass
class SyntheticVideoConfig:
    seed: int = 0
    frames: int = 120
    width: int = 320
    height: int = 240
    fps: float = 15.0
    max_people: int = 3
    occluder_prob: float = 0.2

    def validate(self, where: str) -> None:
        check_ranges(self, where, probabilities=('occluder_prob',), positive=('fps',),
                     at_least={'frames': 1, 'width': 64, 'height': 64, 'max_people': 1})


def _vrng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, _VIDEO_STREAM, stream, index])


@dataclass
class _Track:
    """One walker. Position of the hip centre at frame t: (x0 + vx (t - start), y0 + vy (t - start))."""
    index: int                          # schedule order (published track ids follow first appearance)
    start: int                          # frame at which the walker is at its entry point, just off the image
    end: int                            # frame at which it is just off the image again, at the other side
    entry: str                          # 'left' or 'right'
    x0: float
    y0: float
    vx: float                           # pixels per frame
    vy: float
    u: float                            # figure unit (about a head height); the figure is about 8.5 u tall
    key_every: int                      # frames between key poses
    keys: list[dict] = field(default_factory=list)
    stride: float = 1.0                 # pixels walked per sway cycle
    phase: float = 0.0
    occluder: tuple[np.ndarray, int, int] | None = None   # (patch, x1, y1) standing on the track's path

    def joints(self, t: int) -> dict[str, np.ndarray]:
        """The figure's joints in image coordinates at frame t (start <= t <= end)."""
        s = (t - self.start) / self.key_every
        k = int(s)
        a = s - k
        a = a * a * (3 - 2 * a)                         # smoothstep: no jerk at a key pose
        q = dict(self.keys[0])
        for name in _MOVING:
            q[name] = (1 - a) * self.keys[k][name] + a * self.keys[k + 1][name]
        walked = abs(self.vx) * (t - self.start)
        sway = math.sin(2 * math.pi * walked / self.stride + self.phase)
        for side, sign in (('left', 1.0), ('right', -1.0)):   # legs apart and together; arms against them
            q[f'{side}_b1'] += 0.2 * sway
            q[f'{side}_b2'] += 0.1 * sway
            q[f'{side}_a1'] -= 0.25 * sway * sign
        j = _joints(q, self.u)
        centre = np.array([self.x0 + self.vx * (t - self.start), self.y0 + self.vy * (t - self.start)])
        return {n: (v if n == '_up' else v + centre) for n, v in j.items()}


def _reach(keys: list[dict]) -> float:
    """How far (in units u) any drawn pixel of a walker with these key poses can lie from its hip centre,
    horizontally: legs (hip 0.75 + thigh 2.1 + shin 2.0 + shoe 0.35) reach 5.2 whatever the pose; the upper
    body adds the neck's lean offset (3.3 sin(lean)) to shoulder, arm and hand (1.25 + 2.8 + 0.3), and the
    head (4.25 sin(lean) + 0.6 + ears) never goes further. Between key poses the lean stays within theirs."""
    lean = min(max(abs(q['lean']) for q in keys), math.pi / 2)
    return max(5.4, 4.6 + 3.3 * math.sin(lean)) + 0.3


_MAX_REACH = 4.6 + 3.3 + 0.3            # _reach at most
_REACH_PX = 3.0                         # plus this many pixels for the least line thicknesses and disc radii


def _schedule(cfg: SyntheticVideoConfig) -> list[_Track]:
    """The walkers of the video, each slot's tracks one after another, in (slot, order) sequence."""
    w, h, fps = cfg.width, cfg.height, cfg.fps
    rng = _vrng(cfg.seed, _SCHEDULE)
    tracks: list[_Track] = []
    for _ in range(cfg.max_people):
        start: int | None = None
        while True:
            hf = rng.uniform(0.4, 0.9)                  # figure height / image height: its depth
            u = hf * h / 8.5
            speed = rng.uniform(3.0, 8.0) * u / fps      # pixels per frame (a stroll to a walk: 0.6-1.6 m/s)
            entry = 'left' if rng.random() < 0.5 else 'right'
            feet = h * (0.55 + 0.4 * (hf - 0.4) / 0.5 + rng.normal(0, 0.02))
            vy = rng.uniform(-0.05, 0.05) * speed
            key_every = max(2, int(round(rng.uniform(1.0, 2.0) * fps)))
            stride, phase = rng.uniform(6.0, 8.0) * u, rng.uniform(0, 2 * math.pi)
            gap = int(rng.integers(1, max(2, int(0.8 * fps))))
            # key poses for the longest crossing the walker could need; their leans bound its reach, which
            # sets where it enters (just outside the image) and how long it takes to leave
            body = _vrng(cfg.seed, _BODY, len(tracks))
            longest = int(math.ceil((w + 2 * (_MAX_REACH * u + _REACH_PX)) / speed))
            keys = [_pose_params(body) for _ in range(longest // key_every + 2)]
            reach = _reach(keys) * u + _REACH_PX
            crossing = int(math.ceil((w + 2 * reach) / speed))
            if start is None:                           # the slot's first walker may be under way at frame 0
                start = -int(rng.integers(0, max(1, int(0.7 * crossing))))
            else:
                start += gap
            if start >= cfg.frames:
                break
            track = _Track(index=len(tracks), start=start, end=start + crossing, entry=entry,
                           x0=float(-reach if entry == 'left' else w + reach), y0=float(feet - _FOOT * u),
                           vx=float(speed if entry == 'left' else -speed), vy=float(vy), u=float(u),
                           key_every=key_every, keys=keys, stride=float(stride), phase=float(phase))
            if rng.random() < cfg.occluder_prob:
                occ = _vrng(cfg.seed, _OCCLUDER, track.index)
                rw, rh = int(occ.uniform(0.12, 0.35) * w), int(occ.uniform(0.12, 0.35) * h)
                cx, cy = occ.uniform(0.15, 0.85) * w, track.y0 + occ.uniform(-2.5, 2.5) * u
                track.occluder = (_background(occ, rw, rh), int(cx) - rw // 2, int(cy) - rh // 2)
            tracks.append(track)
            start = track.end
    return tracks


def _frames(cfg: SyntheticVideoConfig, tracks: list[_Track]):
    """Yield (frame, annotations) per frame; an annotation's 'track' is the walker's schedule index."""
    w, h = cfg.width, cfg.height
    background = _background(_vrng(cfg.seed, _SCENE), w, h)
    by_depth = sorted(tracks, key=lambda tr: (tr.u, tr.index))    # far (small) first, near last
    occluders = [tr.occluder for tr in tracks if tr.occluder is not None]
    for t in range(cfg.frames):
        img = background.copy()
        people = []
        for tr in by_depth:
            if not tr.start <= t <= tr.end:
                continue
            j = tr.joints(t)
            mask = np.zeros((h, w), np.uint8)
            _draw_figure(img, mask, j, tr.u, _vrng(cfg.seed, _LOOK, tr.index))   # same colours every frame
            for p in people:
                p['cover'] |= mask.astype(bool)
            people.append({'track': tr.index, 'kpts': np.stack([j[n] for n in COCO_NAMES]), 'mask': mask,
                           'cover': np.zeros((h, w), bool)})
        for patch, x1, y1 in occluders:
            xa, ya, xb, yb = _paste(img, patch, x1, y1)
            for p in people:
                p['cover'][ya:yb, xa:xb] = True
        anns = []
        for p in people:
            ann = _annotation(p['kpts'], p['mask'], p['cover'])
            if ann is not None:
                anns.append({'track': p['track'], **ann})
        yield img, anns


def _coco(cfg: SyntheticVideoConfig, tracks: list[_Track], per_frame: list[list[dict]]) -> dict:
    """The COCO file of the video; track ids number the walkers 1, 2, ... in order of first appearance."""
    ids: dict[int, int] = {}
    for anns in per_frame:
        for a in anns:
            ids.setdefault(a['track'], len(ids) + 1)
    images, annotations, seen = [], [], {}
    for t, anns in enumerate(per_frame):
        image_id = t + 1
        images.append({'id': image_id, 'file_name': _frame_name(t), 'width': cfg.width,
                       'height': cfg.height, 'frame_index': t, 'video_id': VIDEO_ID})
        for a in anns:
            track_id = ids[a['track']]
            first, last = seen.get(track_id, (t, t))
            seen[track_id] = (first, t)
            rest = {k: v for k, v in a.items() if k != 'track'}
            annotations.append({'id': len(annotations) + 1, 'image_id': image_id, 'track_id': track_id,
                                **rest})
    track_list = []
    for index, track_id in sorted(ids.items(), key=lambda kv: kv[1]):
        tr = tracks[index]      # schedule index = position in the list
        track_list.append({'id': track_id, 'video_id': VIDEO_ID, 'category_id': 1, 'entry': tr.entry,
                           'first_frame': seen[track_id][0], 'last_frame': seen[track_id][1],
                           'velocity': [round(tr.vx, 4), round(tr.vy, 4)],
                           'height': round(8.5 * tr.u, 2), 'occluder': tr.occluder is not None})
    return {'images': images, 'annotations': annotations, 'categories': _categories(),
            'videos': [{'id': VIDEO_ID, 'name': f'synthetic-video-{cfg.seed}', 'width': cfg.width,
                        'height': cfg.height, 'fps': cfg.fps, 'num_frames': cfg.frames}],
            'tracks': track_list,
            'info': {'description': 'rtmpose-suite synthetic video', 'seed': cfg.seed}}


def _frame_name(t: int) -> str:
    return f'frames/{t:06d}.jpg'


def render_video(cfg: SyntheticVideoConfig) -> tuple[list[np.ndarray], dict]:
    """All frames (H x W x 3 uint8, BGR) and the COCO annotations of the video with settings `cfg`.

    `images` hold one entry per frame (id = frame_index + 1; file_name is the name the frame gets when the
    video is split into images), `annotations` one per visible person and frame with its `track_id`,
    `tracks` one per walker that appears (entry side, first and last annotated frame, velocity in pixels
    per frame, height in pixels, whether an occluder stands on its path)."""
    cfg.validate('synthetic-video')
    tracks = _schedule(cfg)
    frames, per_frame = [], []
    for img, anns in _frames(cfg, tracks):
        frames.append(img)
        per_frame.append(anns)
    return frames, _coco(cfg, tracks, per_frame)


def _open_writer(folder: Path, cfg: SyntheticVideoConfig):
    """(writer, file name, fourcc, note): mp4v in an .mp4, or MJPG in an .avi when this OpenCV build cannot
    write mp4v."""
    import cv2
    from rtmpose.io import quiet_stderr
    size = (cfg.width, cfg.height)
    for name, fourcc in (('video.mp4', 'mp4v'), ('video.avi', 'MJPG')):
        with quiet_stderr():
            writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*fourcc), cfg.fps, size)
        if writer.isOpened():
            note = (None if fourcc == 'mp4v' else
                    'this OpenCV build cannot write mp4v in .mp4: wrote MJPG in .avi')
            return writer, name, fourcc, note
        writer.release()
        (folder / name).unlink(missing_ok=True)
    raise Error('synthetic-video: this OpenCV build can write neither mp4v (.mp4) nor MJPG (.avi) video')


def _counts_summary(counts: list[int]) -> dict:
    hist: dict[str, int] = {}
    for c in counts:
        hist[str(c)] = hist.get(str(c), 0) + 1
    return {'min': min(counts), 'max': max(counts), 'mean': round(sum(counts) / len(counts), 4),
            'frames_with': dict(sorted(hist.items(), key=lambda kv: int(kv[0])))}


def make_synthetic_video(out_dir: str | os.PathLike, cfg: SyntheticVideoConfig | None = None,
                         progress: bool = True) -> dict:
    """Render the video into `out_dir` (replaced atomically): the video file, annotations.json (COCO, as
    `render_video`), each frame as a JPEG under frames/ (encoded as the data set's images are) and
    manifest.json; return the manifest. Frames are encoded as they are rendered.

    The manifest also declares the frames a prepared set with one split, `val` (annotations.json), so each
    frame can be scored as a still image: `rtmpose eval --data-dir DIR` or `rtmpose pipeline-accuracy
    --data-dir DIR` (top-down with ground-truth or detector boxes, no tracking)."""
    from tqdm import tqdm
    cfg = cfg or SyntheticVideoConfig()
    cfg.validate('synthetic-video')
    tracks = _schedule(cfg)
    with staged_dir(out_dir) as tmp:
        import cv2
        writer, name, fourcc, note = _open_writer(tmp, cfg)
        (tmp / 'frames').mkdir()
        per_frame = []
        try:
            for t, (img, anns) in enumerate(tqdm(_frames(cfg, tracks), total=cfg.frames, desc='synthetic video',
                                                 disable=None if progress else True, leave=False)):
                writer.write(img)
                ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY,
                                                     cv2.IMWRITE_JPEG_OPTIMIZE, 0, cv2.IMWRITE_JPEG_PROGRESSIVE, 0])
                if not ok:
                    raise Error(f'synthetic-video: JPEG encoding of frame {t} failed')
                (tmp / _frame_name(t)).write_bytes(buf.tobytes())
                per_frame.append(anns)
        finally:
            writer.release()
        if not (tmp / name).is_file() or (tmp / name).stat().st_size == 0:
            raise Error(f'synthetic-video: the {fourcc} writer produced no {name}')
        coco = _coco(cfg, tracks, per_frame)
        data = dump_json(coco)
        (tmp / 'annotations.json').write_bytes(data)
        manifest = {
            'dataset': 'synthetic-video', 'params': asdict(cfg), 'video': name, 'fourcc': fourcc,
            'video_note': note, 'frames': cfg.frames, 'tracks': len(coco['tracks']),
            'instances': len(coco['annotations']),
            'people_per_frame': _counts_summary([len(a) for a in per_frame]),
            'annotations': 'annotations.json', 'annotations_sha256': hashlib.sha256(data).hexdigest(),
            'image_root': '.',
            'splits': {'val': {'file': 'annotations.json', 'images': cfg.frames,
                               'instances': len(coco['annotations'])}},
        }
        (tmp / 'manifest.json').write_bytes(json.dumps(manifest, indent=2, sort_keys=True).encode() + b'\n')
    return manifest
