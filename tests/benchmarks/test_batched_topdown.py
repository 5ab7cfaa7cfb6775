"""Batched top-down (one ONNX Runtime call for all people of a frame) against one call per person.

Same ONNX model (RTMPose-t with seeded weights, dynamic batch, legacy opset 17), ORT with one thread, a frame
with six people, end to end (crops, network, decoding).

`test_batched_equals_per_crop` (every run) checks the behaviour: one call, and the per-crop result within the
float32 bound of tests/pose_checks.py. `test_batched_vs_per_crop` is the speed benchmark (`make bench`): the
two conditions are timed interleaved so a noisy shared machine hits both alike, and the ratio is recorded in
the benchmark's extra_info. The goal was >= 1.5x. On a CPU with one thread the network is compute-bound
(batch 6 costs what six batch-1 calls cost), so the measured ratio here is about 1.0x and `goal_met` says so;
the benchmark holds only the structural property that batching is never slower. With benchmarks disabled
(the default test run) nothing is timed.
"""
import os

import numpy as np
import pytest

import rtmpose
from rtmpose.deploy.export import export_onnx
from rtmpose.deploy.runners import make_runner
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.synthetic import make_video
from rtmpose.seeded import seeded_state_dict
from tests.pose_checks import calibrate_batchnorm, compare_simcc, logit_tolerance

os.environ.setdefault('OMP_NUM_THREADS', '1')
GOAL = 1.5


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    # seeded, well-scaled weights with BN statistics from the frame's crops (tests/pose_checks.py): logits of
    # order 1 with clear peaks that differ from person to person (a random init's logits are ~4e-7 with argmax
    # margins of ~1e-10, noise)
    model = rtmpose.build_model('rtmpose-t')
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=0))
    video = make_video(n_frames=1, n_people=6, size=(640, 480))
    calibrate_batchnorm(model, PoseEstimator(None, (192, 256), model.codec()).crops(video.frames[0], video.boxes[0])[0])
    path = export_onnx(model, tmp_path_factory.mktemp('onnx') / 't.onnx', (1, 3, 256, 192), dynamic_batch=True)
    runner = make_runner('onnxruntime', path, threads=1)
    return model, runner, video.frames[0], video.boxes[0]


def test_batched_equals_per_crop(setup):
    model, runner, frame, boxes = setup
    calls, outputs = [], []

    def counting(x):
        calls.append(len(x))
        outputs.append(runner(x))
        return outputs[-1]
    batched = PoseEstimator(counting, (192, 256), model.codec())
    per_crop = PoseEstimator(counting, (192, 256), model.codec(), per_crop=True)
    kb, sb = batched(frame, boxes)
    kp, sp = per_crop(frame, boxes)
    assert calls == [6] + [1] * 6 and kb.shape == (6, 17, 2)
    # batch 6 and batch 1 run different kernels: compare the logits with the derived float32 bound
    # (tests/pose_checks.py), and the keypoints exactly where the argmax is decided (margin > 2 x tolerance)
    ref = [np.concatenate([o[i] for o in outputs[1:]]) for i in (0, 1)]
    decided = compare_simcc(outputs[0][:2], ref)
    tol = logit_tolerance(*ref)
    # every crop's logits differ from the first one's by far more than tol: a crop-order mix-up would show
    assert (np.abs(ref[0][1:] - ref[0][:1]).max(axis=(1, 2)) > 100 * tol).all()
    np.testing.assert_array_equal(kb[decided], kp[decided])
    assert sp.min() > 100 * tol and np.abs(sb - sp).max() <= tol


def test_batched_vs_per_crop(benchmark, setup):
    model, runner, frame, boxes = setup
    batched = PoseEstimator(runner, (192, 256), model.codec())
    per_crop = PoseEstimator(runner, (192, 256), model.codec(), per_crop=True)
    ref, _ = batched(frame, boxes)
    kb, _ = benchmark.pedantic(lambda: batched(frame, boxes), rounds=20, iterations=1, warmup_rounds=2)
    np.testing.assert_array_equal(kb, ref)          # the same call on the same input: the same result
    if not benchmark.enabled:                       # speed is measured only when benchmarking (`make bench`)
        return
    from rtmpose.harness.timing import summarize, time_callables
    times = time_callables({'batched': lambda: batched(frame, boxes), 'per_crop': lambda: per_crop(frame, boxes)},
                           warmup=10, runs=60, progress=False)
    b, p = summarize(times['batched']), summarize(times['per_crop'])
    ratio = p['median_ms'] / b['median_ms']
    benchmark.extra_info.update(people=len(boxes), batched_median_ms=b['median_ms'],
                                per_crop_median_ms=p['median_ms'], speedup=ratio, goal=GOAL, goal_met=ratio >= GOAL)
    print(f'\nbatched {b["median_ms"]:.2f} ms, per-crop {p["median_ms"]:.2f} ms, speed-up {ratio:.2f}x')
    assert ratio >= 0.9   # never slower (10 % allowance for a shared machine)
