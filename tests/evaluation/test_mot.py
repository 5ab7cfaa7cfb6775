import math

import pytest

from rtmpose.errors import Error
from rtmpose.evaluation.mot import clear_mot, frames_from_coco

A = [0.0, 0.0, 10.0, 10.0]          # two boxes that never overlap
B = [50.0, 0.0, 10.0, 10.0]
N = 10


def _gt():
    return [[(1, A), (2, B)] for _ in range(N)]


def test_perfect_tracking():
    pred = [[(7, A), (9, B)] for _ in range(N)]          # hypothesis ids need not equal ground-truth ids
    m = clear_mot(_gt(), pred)
    assert m == {'mota': 1.0, 'motp': 0.0, 'idf1': 1.0, 'num_switches': 0, 'num_false_positives': 0,
                 'num_misses': 0, 'num_objects': 2 * N, 'num_frames': N, 'mostly_tracked': 2,
                 'mostly_lost': 0}
    assert all(type(v) is float for k, v in m.items() if k in ('mota', 'motp', 'idf1'))
    assert all(type(v) is int for k, v in m.items() if k not in ('mota', 'motp', 'idf1'))


def test_swapped_identity_in_the_middle():
    # hypotheses 7 and 9 follow ground truth 1 and 2 for 5 frames, then swap: each ground-truth track changes
    # hypothesis once
    pred = [[(7, A), (9, B)] if t < 5 else [(9, A), (7, B)] for t in range(N)]
    m = clear_mot(_gt(), pred)
    switches = 2
    assert m['num_switches'] == switches
    assert m['num_misses'] == 0 and m['num_false_positives'] == 0
    assert m['mota'] == pytest.approx(1 - switches / (2 * N))              # 0.9
    # IDF1: the best global assignment keeps 1<->7 and 2<->9 for 5 frames each: IDTP = 10 of 20 + 20 boxes
    assert m['idf1'] == pytest.approx(2 * 10 / (2 * N + 2 * N))            # 0.5
    assert m['motp'] == pytest.approx(0.0)


def test_miss_and_false_positive():
    gt = _gt()
    pred = [[(7, A), (9, B)] for _ in range(N)]
    pred[3] = [(7, A)]                                   # ground truth 2 missed in frames 3 and 4
    pred[4] = [(7, A)]
    pred[7] = [(7, A), (9, B), (5, [200.0, 200.0, 10.0, 10.0])]   # a false positive far from everything
    m = clear_mot(gt, pred)
    fn, fp, idsw = 2, 1, 0
    assert (m['num_misses'], m['num_false_positives'], m['num_switches']) == (fn, fp, idsw)
    assert m['num_objects'] == 2 * N
    assert m['mota'] == pytest.approx(1 - (fn + fp + idsw) / (2 * N))     # 0.85


def test_iou_threshold_and_motp():
    # shifted by 1 px: IoU 90 / 110, distance 2 / 11, a match; shifted by 6 px: IoU 40 / 160 = 0.25 < 0.5,
    # a miss and a false positive
    near = [1.0, 0.0, 10.0, 10.0]
    far = [56.0, 0.0, 10.0, 10.0]
    m = clear_mot([[(1, A), (2, B)]], [[(7, near), (9, far)]])
    assert (m['num_misses'], m['num_false_positives']) == (1, 1)
    assert m['motp'] == pytest.approx(2 / 11)
    assert m['mota'] == pytest.approx(1 - 2 / 2)
    loose = clear_mot([[(1, A), (2, B)]], [[(7, near), (9, far)]], iou_threshold=0.2)
    assert (loose['num_misses'], loose['num_false_positives']) == (0, 0)
    assert loose['motp'] == pytest.approx((2 / 11 + 0.75) / 2)


def test_empty_frames_and_bad_input():
    m = clear_mot([[], [(1, A)]], [[], []])
    assert (m['num_frames'], m['num_objects'], m['num_misses']) == (2, 1, 1)
    assert m['mota'] == pytest.approx(0.0) and math.isnan(m['motp'])
    with pytest.raises(Error, match='2 ground-truth frames but 1 predicted'):
        clear_mot([[], []], [[]])
    with pytest.raises(Error, match='bbox'):
        clear_mot([[(1, [0, 0, 1])]], [[]])
    with pytest.raises(Error, match='twice'):
        clear_mot([[(1, A), (1, B)]], [[]])


def test_frames_from_coco_orders_by_frame_index():
    coco = {'images': [{'id': 12, 'frame_index': 2}, {'id': 10, 'frame_index': 0},
                       {'id': 11, 'frame_index': 1}],
            'annotations': [{'image_id': 12, 'track_id': 3, 'bbox': B},
                            {'image_id': 10, 'track_id': 1, 'bbox': A},
                            {'image_id': 12, 'track_id': 1, 'bbox': A}]}
    assert frames_from_coco(coco) == [[(1, A)], [], [(3, B), (1, A)]]
    with pytest.raises(Error, match='not a COCO video annotation file'):
        frames_from_coco({'images': [{'id': 1}], 'annotations': []})


def test_synthetic_video_against_itself():
    from rtmpose.data.synthetic_video import SyntheticVideoConfig, render_video
    _, coco = render_video(SyntheticVideoConfig(seed=1, frames=30, width=128, height=96))
    gt = frames_from_coco(coco)
    assert len(gt) == 30 and sum(map(len, gt)) == len(coco['annotations'])
    m = clear_mot(gt, gt)
    assert m['mota'] == 1.0 and m['num_switches'] == 0 and m['num_objects'] == len(coco['annotations'])
    # hypothesis ids that change every frame: identity switches
    relabelled = [[(tid + 1000 * (t % 2), box) for tid, box in frame] for t, frame in enumerate(gt)]
    assert clear_mot(gt, relabelled)['num_switches'] > 0
