"""Batched top-down: one backend call per frame, same result as one call per person."""
import numpy as np

import rtmpose
from rtmpose.deploy.runners import make_runner
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.synthetic import make_video


class CountingRunner:
    def __init__(self, runner):
        self.runner, self.calls, self.batches = runner, 0, []

    def __call__(self, x):
        self.calls += 1
        self.batches.append(len(x))
        return self.runner(x)


def test_batched_equals_per_crop_with_one_call():
    model = rtmpose.build_model('rtmpose-t')
    video = make_video(n_frames=1, n_people=4, size=(480, 320))
    runner = CountingRunner(make_runner('torch', model, 1))
    batched = PoseEstimator(runner, (192, 256), model.codec())
    k_b, s_b = batched(video.frames[0], video.boxes[0])
    assert runner.calls == 1 and runner.batches == [4]
    per = PoseEstimator(runner, (192, 256), model.codec(), per_crop=True)
    k_p, s_p = per(video.frames[0], video.boxes[0])
    assert runner.calls == 5
    assert k_b.shape == (4, 17, 2) and s_b.shape == (4, 17)
    np.testing.assert_allclose(k_b, k_p, atol=1e-3)
    np.testing.assert_allclose(s_b, s_p, atol=1e-4)


def test_no_boxes_no_call():
    runner = CountingRunner(lambda x: [x])
    k, s = PoseEstimator(runner, (192, 256), rtmpose.SimCCCodec())(np.zeros((10, 10, 3), np.uint8),
                                                                   np.zeros((0, 4)))
    assert runner.calls == 0 and len(k) == 0 and len(s) == 0
