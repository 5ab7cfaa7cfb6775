"""Skip-frame detection (K=5) against detection on every frame (K=1): speed and keypoint drift.

    OMP_NUM_THREADS=1 .venv/bin/python tools/measure_skip_frame.py [--frames 100] [--out reports/bench/skip_frame.json]

Without trained weights this measures what can honestly be measured:
- speed: the real RTMDet-nano and RTMPose-t networks (random weights, ONNX Runtime, 1 thread) over the
  frames; because an untrained detector finds nobody, the boxes it would return are replaced by reference
  boxes (ground truth on the synthetic video; moving blobs from background subtraction, computed beforehand and not
  timed, on vtest.avi). The detector network still runs, and is timed, on every detection frame.
- drift and accuracy: on the synthetic video with known keypoints, the pose network is replaced by
  rtmpose.inference.synthetic.ColourKeypointRunner (sees only its crop); everything else is the pipeline.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rtmpose.codec import SimCCCodec  # noqa: E402
from rtmpose.inference.pipeline import PipelineSettings, build  # noqa: E402
from rtmpose.inference.pose import PoseEstimator  # noqa: E402
from rtmpose.inference.synthetic import ColourKeypointRunner, make_video  # noqa: E402
from rtmpose.inference.tracker import PoseTracker, TrackerSettings  # noqa: E402

VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi'


def run(frames, detector, pose, k):
    tracker = PoseTracker(detector, pose, TrackerSettings(det_interval=k))
    out, t0 = [], time.perf_counter()
    for i, f in enumerate(frames):
        detector.frame = i
        out.append(tracker(f))
    return out, (time.perf_counter() - t0) * 1e3 / len(frames)


class ReferenceBoxes:
    """Runs `net` (timed, output discarded) when given, and returns the reference boxes of the frame."""

    def __init__(self, boxes, net=None):
        self.boxes, self.net, self.frame = boxes, net, 0

    def __call__(self, image):
        if self.net is not None:
            self.net(image)
        return self.boxes[self.frame], None


def match(gt, results):
    """Per frame and reference person: keypoints of the nearest output (NaN when none)."""
    out = np.full(gt.shape, np.nan, np.float32)
    for t, r in enumerate(results):
        for p, g in enumerate(gt[t]):
            if len(r.ids):
                d = np.linalg.norm(r.keypoints - g[None], axis=-1).mean(-1)
                out[t, p] = r.keypoints[d.argmin()]
    return out


def motion_boxes(frames, min_area: int = 600):
    """Reference person boxes on a fixed-camera video: moving blobs from OpenCV's MOG2 background
    subtraction (this OpenCV build has no HOG people detector)."""
    import cv2
    sub = cv2.createBackgroundSubtractorMOG2(history=100, detectShadows=False)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out = []
    for f in frames:
        mask = cv2.morphologyEx(sub.apply(f), cv2.MORPH_OPEN, kernel)
        mask = cv2.dilate(mask, kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        rects = [cv2.boundingRect(c) for c in contours if cv2.contourArea(c) >= min_area]
        out.append(np.array([[x, y, x + w, y + h] for x, y, w, h in rects], np.float32).reshape(-1, 4))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--frames', type=int, default=100)
    ap.add_argument('--out', default='reports/bench/skip_frame.json')
    args = ap.parse_args()
    report = {}
    models = build(PipelineSettings(pose_model='rtmpose-t'), random_weights=True)

    # synthetic video with ground truth
    video = make_video(n_frames=args.frames, n_people=6)
    colour = PoseEstimator(ColourKeypointRunner(), (192, 256), SimCCCodec((192, 256), (4.9, 5.66)))
    res = {k: run(video.frames, ReferenceBoxes(video.boxes), colour, k)[0] for k in (1, 5)}
    kp = {k: match(video.keypoints, r) for k, r in res.items()}
    err = {k: np.linalg.norm(kp[k] - video.keypoints, axis=-1) for k in kp}
    drift = np.linalg.norm(kp[5] - kp[1], axis=-1)
    speed = {k: run(video.frames, ReferenceBoxes(video.boxes, models.detector), models.pose, k)[1] for k in (1, 5)}
    report['synthetic'] = dict(
        frames=args.frames, people=6, size=list(video.frames[0].shape[1::-1]),
        boxes='ground truth', pose_for_drift='ColourKeypointRunner (crop-limited stand-in for the network)',
        error_vs_truth_px={f'K{k}': dict(mean=float(np.nanmean(e)), median=float(np.nanmedian(e))) for k, e in err.items()},
        drift_K5_vs_K1_px=dict(mean=float(np.nanmean(drift)), median=float(np.nanmedian(drift)),
                               p90=float(np.nanpercentile(drift, 90))),
        ms_per_frame={f'K{k}': v for k, v in speed.items()}, speedup_K5_vs_K1=speed[1] / speed[5],
        speed_models='RTMDet-nano + RTMPose-t, random weights, onnxruntime 1 thread')

    if os.path.exists(VTEST):
        from rtmpose.inference.video import VideoReader
        frames = []
        for f in VideoReader(VTEST):
            frames.append(f)
            if len(frames) >= args.frames:
                break
        boxes = motion_boxes(frames)
        speed = {k: run(frames, ReferenceBoxes(boxes, models.detector), models.pose, k)[1] for k in (1, 5)}
        report['vtest'] = dict(
            frames=len(frames), mean_reference_people=float(np.mean([len(b) for b in boxes])),
            boxes='moving blobs, OpenCV MOG2 (precomputed, untimed); RTMDet-nano still runs on detection frames',
            ms_per_frame={f'K{k}': v for k, v in speed.items()}, speedup_K5_vs_K1=speed[1] / speed[5],
            drift='not measured: no trained pose weights here, and vtest.avi has no keypoint ground truth',
            speed_models='RTMDet-nano + RTMPose-t, random weights, onnxruntime 1 thread')
    else:
        report['vtest'] = 'not measured: vtest.avi absent (apt-get install opencv-doc)'
    from rtmpose.io import write_json_atomic
    write_json_atomic(args.out, report)
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
