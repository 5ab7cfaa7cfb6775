"""Scoring a pipeline run on a video against its ground truth (rtmpose.inference.video_metrics): a run that
reproduces the ground truth scores perfectly; a swapped identity, a dropped person and a slower run show up
where they should."""
import copy

import numpy as np
import pytest

from rtmpose.data.meta import get_meta
from rtmpose.data.synthetic_video import SyntheticVideoConfig, render_video
from rtmpose.errors import Error
from rtmpose.inference.video_metrics import oks_matrix, score_runs, tight_box

EXPANSION = 1.25


@pytest.fixture(scope='module')
def coco():
    return render_video(SyntheticVideoConfig(seed=1, frames=30))[1]


def _perfect(coco, k=1, ms=10.0):
    """The demo record of a tracker that reports the ground truth: keypoints with score 1 where labelled,
    the box grown by EXPANSION about its centre, the track id as identity."""
    frames = []
    for im in sorted(coco['images'], key=lambda im: im['frame_index']):
        people = []
        for a in (a for a in coco['annotations'] if a['image_id'] == im['id']):
            kp = np.asarray(a['keypoints'], float).reshape(-1, 3)
            x, y, w, h = a['bbox']
            cx, cy = x + w / 2, y + h / 2
            w, h = w * EXPANSION, h * EXPANSION
            people.append({'id': a['track_id'], 'box': [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                           'keypoints': kp[:, :2].tolist(), 'keypoint_scores': (kp[:, 2] > 0).astype(float).tolist()})
        frames.append({'frame': im['frame_index'], 'detected': im['frame_index'] % k == 0, 'people': people,
                       'ms': ms})
    return {'settings': {'det_interval': k}, 'frames': frames, 'complete': True}


def test_tight_box_inverts_the_expansion():
    assert np.allclose(tight_box([0, 0, 125, 250], 1.25), [12.5, 25, 100, 200])


def test_perfect_run_scores_perfectly(coco):
    (e,) = score_runs([_perfect(coco)], coco, get_meta('synthetic').sigmas, EXPANSION, bootstrap=50)
    assert e['pose_AP'] == pytest.approx(1.0) and e['box_AP'] == pytest.approx(1.0)
    assert e['mot']['mota'] == pytest.approx(1.0) and e['mot']['num_switches'] == 0
    assert e['mot']['motp'] == pytest.approx(0.0, abs=1e-12)             # 1 - OKS of identical poses
    assert e['mot_box']['mota'] == pytest.approx(1.0) and e['mot_box']['num_switches'] == 0
    assert e['delta_pose_AP']['value'] == 0 and e['delta_pose_AP']['ci95'] == [0, 0]
    assert e['ms_per_frame']['mean'] == pytest.approx(10.0) and e['detector_runs'] == 30


def test_errors_show_where_they_are(coco):
    ref = _perfect(coco)
    swapped = copy.deepcopy(ref)
    frame = next(f for f in swapped['frames'][10:] if len(f['people']) >= 2)
    frame['people'][0]['id'], frame['people'][1]['id'] = frame['people'][1]['id'], frame['people'][0]['id']
    dropped = copy.deepcopy(ref)
    n_dropped = 0
    for f in dropped['frames'][::3]:
        n_dropped += len(f['people'])
        f['people'] = []
    slow = _perfect(coco, k=5, ms=20.0)
    e_ref, e_swap, e_drop, e_slow = score_runs([ref, swapped, dropped, slow], coco, get_meta('synthetic').sigmas,
                                               EXPANSION, bootstrap=200)
    assert e_swap['mot']['num_switches'] >= 2 and e_swap['mot']['mota'] < 1
    assert e_swap['pose_AP'] == pytest.approx(1.0)          # identities do not change AP
    assert e_drop['mot']['num_misses'] == n_dropped and e_drop['pose_AP'] < 1
    lo, hi = e_drop['delta_pose_AP']['ci95']
    assert e_drop['delta_pose_AP']['value'] < 0 and hi < 0   # paired: the drop is certain
    assert e_slow['ms_per_frame']['mean'] == pytest.approx(20.0) and e_slow['detector_runs'] == 6


def test_runs_of_different_length_are_refused(coco):
    short = _perfect(coco)
    short['frames'] = short['frames'][:5]
    with pytest.raises(Error, match='different numbers of frames'):
        score_runs([_perfect(coco), short], coco, get_meta('synthetic').sigmas, EXPANSION)
    too_long = _perfect(coco)
    too_long['frames'] = too_long['frames'] + too_long['frames'][:1]
    with pytest.raises(Error, match='annotated frames'):
        score_runs([too_long], coco, get_meta('synthetic').sigmas, EXPANSION)


def test_oks_matrix_is_pycocotools(coco):
    """OKS of perturbed poses against the video's ground truth equals COCOeval.computeOks."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    sigmas = get_meta('synthetic').sigmas
    image = next(im for im in coco['images']
                 if sum(a['image_id'] == im['id'] and a['num_keypoints'] > 0 for a in coco['annotations']) >= 2)
    gts = [a for a in coco['annotations'] if a['image_id'] == image['id'] and a['num_keypoints'] > 0]
    rng = np.random.default_rng(0)
    dets = []
    for i, a in enumerate(gts * 2):
        kp = np.asarray(a['keypoints'], float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 2 + 4 * i, (len(kp), 2))
        kp[:, 2] = 1
        dets.append({'image_id': image['id'], 'category_id': 1, 'keypoints': kp.ravel().tolist(), 'score': 1 - i / 10})
    gt_api = COCO()
    gt_api.dataset = {'images': [image], 'annotations': gts, 'categories': coco['categories']}
    gt_api.createIndex()
    ev = COCOeval(gt_api, gt_api.loadRes(dets), 'keypoints')
    ev.params.kpt_oks_sigmas = np.asarray(sigmas)
    ev.params.imgIds = [image['id']]
    ev.evaluate()
    expected = np.asarray(ev.ious[(image['id'], 1)])             # (detections by descending score, ground truths)
    assert expected.shape == (len(dets), len(gts))
    g = [np.asarray(a['keypoints'], float).reshape(-1, 3) for a in gts]
    d = [np.asarray(x['keypoints'], float).reshape(-1, 3)[:, :2] for x in dets]
    ours = oks_matrix(np.stack([k[:, :2] for k in g]), np.stack([k[:, 2] for k in g]),
                      np.asarray([a['area'] for a in gts]), np.stack(d), sigmas)
    assert np.allclose(ours.T, expected, rtol=1e-12, atol=0)


def test_tracking_is_matched_by_pose_not_by_box(coco):
    """A pose moved far off its person (its box kept) is a miss and a false positive for the pose MOTA, and
    nothing for the box MOTA."""
    ref = _perfect(coco)
    moved = copy.deepcopy(ref)
    n = 0
    for f in moved['frames'][5:15]:
        for p in f['people']:
            if max(p['keypoint_scores']) > 0:
                p['keypoints'] = (np.asarray(p['keypoints']) + [60.0, 0.0]).tolist()
                n += 1
    e_ref, e_moved = score_runs([ref, moved], coco, get_meta('synthetic').sigmas, EXPANSION, bootstrap=20)
    assert n > 0
    assert e_moved['mot']['num_misses'] == n and e_moved['mot']['num_false_positives'] == n
    assert e_moved['mot_box'] == e_ref['mot_box']
