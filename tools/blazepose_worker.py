"""Times MediaPipe BlazePose (lite/full/heavy) through its own runtime; runs in harness/.venv-mediapipe.

    harness/.venv-mediapipe/bin/python tools/blazepose_worker.py --complexity 0 --warmup 50 --runs 200

Prints one JSON object: latencies (ms) of `Pose.process` on a real photo with a person in static-image
mode, so every call runs the detector and the landmark model (the tracking shortcut would skip the detector). The
solution runs its graph on one CPU thread per calculator; no thread knob is exposed.
"""
import argparse
import json
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--complexity', type=int, choices=(0, 1, 2), required=True)
    p.add_argument('--warmup', type=int, default=50)
    p.add_argument('--runs', type=int, default=200)
    p.add_argument('--image', default='/usr/share/doc/opencv-doc/examples/data/messi5.jpg',
                   help='a photo with one person (the landmark model only runs when the detector finds one)')
    a = p.parse_args()
    import cv2
    import mediapipe as mp
    bgr = cv2.imread(a.image)
    if bgr is None:
        raise SystemExit(f'{a.image}: cannot read the image')
    frame = np.ascontiguousarray(bgr[..., ::-1])
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=a.complexity) as pose:
        if pose.process(frame).pose_landmarks is None:
            raise SystemExit(f'{a.image}: no person detected, the landmark model would not run')
        for _ in range(a.warmup):
            pose.process(frame)
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            pose.process(frame)
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({'complexity': a.complexity, 'times_ms': times, 'mediapipe': mp.__version__,
                      'image': a.image, 'frame_hw': list(frame.shape[:2])}))


if __name__ == '__main__':
    main()
