"""One-Euro filter, pose boxes, pose NMS and skip-frame tracking on the synthetic video with ground truth."""
import numpy as np
import pytest

from rtmpose.codec import SimCCCodec
from rtmpose.inference.pose import PoseEstimator
from rtmpose.inference.pose_nms import pose_nms
from rtmpose.inference.synthetic import ColourKeypointRunner, make_video
from rtmpose.inference.tracker import OneEuroFilter, PoseTracker, TrackerSettings, pose_to_bbox


def test_one_euro_follows_mmdeploy_recurrence():
    xs = [0.0, 1.0, 3.0, 2.0, 8.0]
    f = OneEuroFilter(np.array([[xs[0], 0.0]]), beta=0.5, fc_min=1.0, fc_d=1.0)
    x, v = xs[0], 0.0
    a = lambda fc: 2 * np.pi * fc / (2 * np.pi * fc + 1)   # noqa: E731
    for x1 in xs[1:]:
        v = (1 - a(1.0)) * v + a(1.0) * (x1 - x)
        x = (1 - a(1.0 + 0.5 * abs(v))) * x + a(1.0 + 0.5 * abs(v)) * x1
        out = f(np.array([[x1, 0.0]]))
        assert out[0, 0] == pytest.approx(x)
        assert out[0, 1] == 0.0


def test_one_euro_smooths_jitter_and_keeps_a_steady_signal():
    rng = np.random.default_rng(0)
    truth = np.full((200, 1, 2), 50.0)
    noisy = truth + rng.normal(0, 2, truth.shape)
    raw = np.abs(noisy[1:] - truth[1:]).mean()
    # mmdeploy's defaults are frame based: fc_min 1 gives alpha 0.86, light smoothing
    f = OneEuroFilter(noisy[0])
    light = np.abs(np.stack([f(n) for n in noisy[1:]]) - truth[1:]).mean()
    f = OneEuroFilter(noisy[0], fc_min=0.05)
    strong = np.abs(np.stack([f(n) for n in noisy[1:]]) - truth[1:]).mean()
    assert strong < 0.6 * raw and light < 0.95 * raw and strong < light


def test_pose_to_bbox_expansion_and_fallback():
    k = np.array([[10, 20], [30, 60], [500, 500]], np.float32)
    s = np.array([0.9, 0.8, 0.1])
    np.testing.assert_allclose(pose_to_bbox(k, s, 1.25, 0.5), [7.5, 15, 32.5, 65])
    fb = np.array([1, 2, 3, 4], np.float32)
    np.testing.assert_allclose(pose_to_bbox(k, np.array([0.9, 0.1, 0.1]), 1.25, 0.5, fallback=fb), fb)


def test_pose_nms_drops_a_duplicate_person():
    k = np.random.default_rng(1).uniform(0, 100, (1, 17, 2))
    kpts = np.concatenate([k, k + 0.5, k + 300])
    scores = np.array([[0.9] * 17, [0.8] * 17, [0.7] * 17])
    boxes = np.array([[0, 0, 100, 100], [0, 0, 100, 100], [300, 300, 400, 400]], np.float32)
    assert pose_nms(kpts, scores, boxes).tolist() == [0, 2]


def _run(video, k):
    pose = PoseEstimator(ColourKeypointRunner(), (192, 256), SimCCCodec((192, 256), (4.9, 5.66)))
    frame = [0]
    tracker = PoseTracker(lambda img: (video.boxes[frame[0]], None), pose, TrackerSettings(det_interval=k))
    out = []
    for i, img in enumerate(video.frames):
        frame[0] = i
        out.append(tracker(img))
    return out


def _errors(video, results):
    """Per frame and ground-truth person: id of the nearest output and its mean keypoint error."""
    ids, errs = np.full(video.keypoints.shape[:2], -1), np.full(video.keypoints.shape[:2], np.inf)
    for t, r in enumerate(results):
        for p, gt in enumerate(video.keypoints[t]):
            if len(r.ids):
                d = np.linalg.norm(r.keypoints - gt[None], axis=-1).mean(-1)
                ids[t, p], errs[t, p] = r.ids[d.argmin()], d.min()
    return ids, errs


def test_skip_frame_tracking_keeps_identities_and_accuracy():
    video = make_video(n_frames=16, n_people=3, size=(600, 300), seed=2, speed=3.0)
    r1, r5 = _run(video, 1), _run(video, 5)
    assert [r.detected for r in r5] == [i % 5 == 0 for i in range(16)]
    for results in (r1, r5):
        ids, errs = _errors(video, results)
        assert np.median(errs) < 3.0                     # pixels; the crop-limited model is near exact
        for p in range(3):                               # one identity per person throughout
            assert len(set(ids[:, p].tolist())) == 1
        assert len(set(ids[0].tolist())) == 3
