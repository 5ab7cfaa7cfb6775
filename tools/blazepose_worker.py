"""Times MediaPipe BlazePose (lite/full/heavy) through its own runtime; runs in harness/.venv-mediapipe.

    harness/.venv-mediapipe/bin/python tools/blazepose_worker.py --complexity 0 --warmup 50 --runs 200

Prints one JSON object: latencies (ms) of `Pose.process` on a fixed frame in static-image mode, so every
call runs the detector and the landmark model (the tracking shortcut would skip the detector). The
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
    p.add_argument('--image', help='RGB frame (.npy); default: a seeded 480x640 frame')
    a = p.parse_args()
    import mediapipe as mp
    frame = (np.load(a.image) if a.image else
             np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=a.complexity) as pose:
        for _ in range(a.warmup):
            pose.process(frame)
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            pose.process(frame)
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({'complexity': a.complexity, 'times_ms': times, 'mediapipe': mp.__version__}))


if __name__ == '__main__':
    main()
