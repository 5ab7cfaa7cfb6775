"""Batched top-down (one ONNX Runtime call for all people of a frame) against one call per person.

Same ONNX model (RTMPose-t, dynamic batch, legacy opset 17), ORT with one thread, a frame with six
people, end to end (crops, network, decoding). The two conditions are timed interleaved so a noisy
shared machine hits both alike; the ratio is recorded in the benchmark's extra_info.

The goal was >= 1.5x. On a CPU with one thread the network is compute-bound (batch 6 costs what six
batch-1 calls cost), so the measured ratio here is about 1.0x and `goal_met` says so; the assertion only
holds the structural property that batching is never slower.
"""
import os

import numpy as np
import pytest

import rtmpose
from rtmpose.deploy.export import export_onnx
from rtmpose.deploy.runners import make_runner
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.synthetic import make_video

os.environ.setdefault('OMP_NUM_THREADS', '1')
GOAL = 1.5


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    model = rtmpose.build_model('rtmpose-t')
    path = export_onnx(model, tmp_path_factory.mktemp('onnx') / 't.onnx', (1, 3, 256, 192), dynamic_batch=True)
    runner = make_runner('onnxruntime', path, threads=1)
    video = make_video(n_frames=1, n_people=6, size=(640, 480))
    return model, runner, video.frames[0], video.boxes[0]


def test_batched_vs_per_crop(benchmark, setup):
    from rtmpose.harness.timing import summarize, time_callables
    model, runner, frame, boxes = setup
    batched = PoseEstimator(runner, (192, 256), model.codec())
    per_crop = PoseEstimator(runner, (192, 256), model.codec(), per_crop=True)
    kb, _ = batched(frame, boxes)
    kp, _ = per_crop(frame, boxes)
    np.testing.assert_allclose(kb, kp, atol=1e-2)
    times = time_callables({'batched': lambda: batched(frame, boxes), 'per_crop': lambda: per_crop(frame, boxes)},
                           warmup=10, runs=60, progress=False)
    b, p = summarize(times['batched']), summarize(times['per_crop'])
    ratio = p['median_ms'] / b['median_ms']
    benchmark.extra_info.update(people=len(boxes), batched_median_ms=b['median_ms'],
                                per_crop_median_ms=p['median_ms'], speedup=ratio, goal=GOAL, goal_met=ratio >= GOAL)
    print(f'\nbatched {b["median_ms"]:.2f} ms, per-crop {p["median_ms"]:.2f} ms, speed-up {ratio:.2f}x')
    benchmark.pedantic(lambda: batched(frame, boxes), rounds=20, iterations=1, warmup_rounds=2)
    assert ratio >= 0.9   # never slower (10 % allowance for a shared machine)
