"""Batched top-down: one backend call per frame, same result as one call per person."""
import numpy as np

import rtmpose
from rtmpose.deploy.runners import make_runner
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.synthetic import make_video
from rtmpose.seeded import seeded_state_dict
from tests.pose_checks import calibrate_batchnorm, compare_simcc, logit_tolerance


class CountingRunner:
    def __init__(self, runner):
        self.runner, self.calls, self.batches, self.outputs = runner, 0, [], []

    def __call__(self, x):
        self.calls += 1
        self.batches.append(len(x))
        out = self.runner(x)
        self.outputs.append(out)
        return out


def test_batched_equals_per_crop_with_one_call():
    # seeded, well-scaled weights with BN statistics from these crops: SimCC logits of order 1 with clear peaks
    # that differ from crop to crop (a random init gives logits of ~4e-7 whose top two differ by ~1e-10, so its
    # argmax is rounding noise; seeded weights alone give every crop the same output)
    model = rtmpose.build_model('rtmpose-t')
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=0))
    video = make_video(n_frames=1, n_people=4, size=(480, 320))
    calibrate_batchnorm(model, PoseEstimator(None, (192, 256), model.codec()).crops(video.frames[0], video.boxes[0])[0])
    runner = CountingRunner(make_runner('torch', model, 1))
    batched = PoseEstimator(runner, (192, 256), model.codec())
    k_b, s_b = batched(video.frames[0], video.boxes[0])
    assert runner.calls == 1 and runner.batches == [4]
    per = PoseEstimator(runner, (192, 256), model.codec(), per_crop=True)
    k_p, s_p = per(video.frames[0], video.boxes[0])
    assert runner.calls == 5 and runner.batches == [4, 1, 1, 1, 1]
    assert k_b.shape == (4, 17, 2) and s_b.shape == (4, 17)
    # batch 4 and batch 1 run different kernels: logits agree within the float32 bound (tests/pose_checks.py),
    # crop i of the batch against call i + 1 (a crop order mix-up would be off by O(1))
    ref = [np.concatenate([o[i] for o in runner.outputs[1:]]) for i in (0, 1)]
    decided = compare_simcc(runner.outputs[0][:2], ref)
    tol = logit_tolerance(*ref)
    # every crop's logits differ from the first one's by far more than tol: a crop-order mix-up would show
    assert (np.abs(ref[0][1:] - ref[0][:1]).max(axis=(1, 2)) > 100 * tol).all()
    # where the argmax is decided, the keypoints are the same bins mapped back the same way: equal
    np.testing.assert_array_equal(k_b[decided], k_p[decided])
    # a score is the smaller of two maxima, so it moves by at most the logits' tolerance
    assert s_p.min() > 100 * tol                      # scores far from 0 relative to the tolerance
    assert np.abs(s_b - s_p).max() <= tol


def test_no_boxes_no_call():
    runner = CountingRunner(lambda x: [x])
    k, s = PoseEstimator(runner, (192, 256), rtmpose.SimCCCodec())(np.zeros((10, 10, 3), np.uint8),
                                                                   np.zeros((0, 4)))
    assert runner.calls == 0 and len(k) == 0 and len(s) == 0
