"""`rtmpose demo` end to end on the real CLI with random weights (ONNX Runtime), and its failure modes."""
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmpose.cli import main
from rtmpose.inference.synthetic import make_video

VTEST = Path('/usr/share/doc/opencv-doc/examples/data/vtest.avi')


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    return tmp_path_factory.mktemp('exports')


def _demo(args, work):
    return main(['demo', *map(str, args), '--pose-model', 'rtmpose-t', '--exports', str(work), '--quiet'])


def test_without_checkpoint_says_so(tmp_path, capsys, work):
    img = tmp_path / 'a.png'
    cv2.imwrite(str(img), np.zeros((20, 20, 3), np.uint8))
    assert _demo([img, '--out', tmp_path / 'o'], work) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'no pose checkpoint' in err and '--random-weights' in err
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('name,data', [('bad.jpg', b'not an image'), ('bad.avi', b'RIFF garbage')])
def test_corrupt_input_is_one_line(tmp_path, capsys, work, name, data):
    (tmp_path / name).write_bytes(data)
    assert _demo([tmp_path / name, '--random-weights', '--out', tmp_path / 'o'], work) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and name in err and 'not a readable' in err


def test_image_and_folder(tmp_path, work):
    v = make_video(n_frames=2, n_people=2, size=(320, 240))
    for i, f in enumerate(v.frames):
        cv2.imwrite(str(tmp_path / f'f{i}.png'), f)
    assert _demo([tmp_path / 'f0.png', '--random-weights', '--out', tmp_path / 'o'], work) == 0
    doc = json.loads((tmp_path / 'o' / 'f0.json').read_text())
    assert doc['complete'] and len(doc['frames']) == 1 and doc['models']['weights'] == 'detector random, pose random'
    assert cv2.imread(str(tmp_path / 'o' / 'f0_pose.png')).shape == (240, 320, 3)
    assert _demo([tmp_path, '--random-weights', '--out', tmp_path / 'o2', '--backend', 'torch'], work) == 0
    doc = json.loads((tmp_path / 'o2' / f'{tmp_path.name}.json').read_text())
    assert [f['file'] for f in doc['frames']] == ['f0.png', 'f1.png']


def _write_avi(path, frames):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, frames[0].shape[1::-1])
    for f in frames:
        w.write(f)
    w.release()


def test_video_that_breaks_midway_keeps_what_was_done(tmp_path, capsys, work):
    v = make_video(n_frames=20, n_people=2, size=(160, 120))
    src = tmp_path / 'clip.avi'
    _write_avi(src, v.frames)
    data = src.read_bytes()
    src.write_bytes(data[:len(data) // 2])          # the container claims 20 frames, half are there
    rc = _demo([src, '--random-weights', '--out', tmp_path / 'o', '--det-interval', '3'], work)
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'kept the' in err
    doc = json.loads((tmp_path / 'o' / 'clip.json').read_text())
    n = len(doc['frames'])
    assert 0 < n < 20 and not doc['complete'] and 'frame' in doc['stopped']
    assert [f['detected'] for f in doc['frames']] == [i % 3 == 0 for i in range(n)]
    cap = cv2.VideoCapture(str(tmp_path / 'o' / 'clip_pose.mp4'))
    got = 0
    while cap.read()[0]:
        got += 1
    assert got == n
    from rtmpose.io import LOCK_NAME
    assert not [p for p in os.listdir(tmp_path / 'o') if '.tmp-' in p and p != LOCK_NAME]


@pytest.mark.skipif(not VTEST.exists(), reason='opencv-doc not installed (vtest.avi)')
def test_real_video_few_frames(tmp_path, work):
    assert _demo([VTEST, '--random-weights', '--out', tmp_path, '--max-frames', '4', '--det-interval', '2'],
                 work) == 0
    doc = json.loads((tmp_path / 'vtest.json').read_text())
    assert len(doc['frames']) == 4 and doc['stopped'] == 'stopped at --max-frames 4'


def _video_with_truth(tmp_path, frames=12, seed=3):
    from rtmpose.data.synthetic_video import SyntheticVideoConfig, make_synthetic_video
    make_synthetic_video(tmp_path / 'vid', SyntheticVideoConfig(seed=seed, frames=frames), progress=False)
    return tmp_path / 'vid' / 'video.mp4', tmp_path / 'vid' / 'annotations.json'


def _stills_record(gt_ap=0.412, det_ap=0.367):
    """A record in the form `rtmpose pipeline-accuracy` writes (tests/harness checks the real one)."""
    return {'data': 'vid val (12 images)', 'box_AP': {'AP': 0.5, 'AP_ci_low': 0.4, 'AP_ci_high': 0.6},
            'gt_boxes': {'AP': gt_ap, 'AP_ci': [0.3, 0.5]}, 'detector_boxes': {'AP': det_ap, 'AP_ci': [0.3, 0.45]},
            'delta_AP': {'value': det_ap - gt_ap, 'ci95': [-0.08, -0.01]}}


def test_video_metrics_per_interval_and_report(tmp_path, work):
    video, truth = _video_with_truth(tmp_path)
    (tmp_path / 'stills.json').write_text(json.dumps(_stills_record()))
    rc = _demo([video, '--random-weights', '--out', tmp_path / 'o', '--ground-truth', truth,
                '--det-interval', '1,3', '--report', tmp_path / 'rep', '--stills-reference', tmp_path / 'stills.json'],
               work)
    assert rc == 0
    m = json.loads((tmp_path / 'o' / 'metrics.json').read_text())
    assert [e['det_interval'] for e in m['entries']] == [1, 3]
    for e in m['entries']:
        assert e['frames'] == 12 and e['ms_per_frame']['frames'] == 12
        assert e['detector_runs'] == (12 if e['det_interval'] == 1 else 4)
        assert 0 <= e['pose_AP'] <= 1 and set(e['mot']) >= {'mota', 'num_switches'}
    assert (tmp_path / 'o' / 'K3' / 'video_pose.mp4').is_file()
    rows = (tmp_path / 'rep' / 'skip_frame.csv').read_text().splitlines()
    assert rows[0].startswith('det_interval,') and len(rows) == 3
    assert len(list((tmp_path / 'rep' / 'frames').glob('frame_*.png'))) == 3
    assert json.loads((tmp_path / 'rep' / 'video_metrics.json').read_text()) == m
    assert (tmp_path / 'rep' / 'skip_frame.png').stat().st_size > 0
    assert m['stills_reference'] == _stills_record()
    md = (tmp_path / 'rep' / 'skip_frame.md').read_text()
    assert '## The same frames as still images' in md and '| ground-truth boxes | 41.2 [30.0, 50.0] |' in md
    assert '36.7 [30.0, 45.0]; -4.5 [-8.0, -1.0] paired' in md


@pytest.mark.parametrize('report,record,message', [
    (False, None, 'needs --report'),
    (True, None, 'stills reference not found'),
    (True, {'gt_boxes': {'AP': 0.1}}, 'not a record of rtmpose pipeline-accuracy'),
])
def test_stills_reference_is_checked_before_any_work(tmp_path, capsys, work, report, record, message):
    video, truth = _video_with_truth(tmp_path, frames=2)
    if record is not None:
        (tmp_path / 'stills.json').write_text(json.dumps(record))
    extra = ['--report', tmp_path / 'rep'] if report else []
    assert _demo([video, '--random-weights', '--out', tmp_path / 'o', '--ground-truth', truth, *extra,
                  '--stills-reference', tmp_path / 'stills.json'], work) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and message in err
    assert not (tmp_path / 'o').exists() and not (tmp_path / 'rep').exists()


@pytest.mark.parametrize('extra,message', [
    (['--det-interval', '1,2'], 'need --ground-truth'),
    (['--det-interval', '0'], 'integers >= 1'),
    (['--det-interval', '2,x'], 'K or K1,K2'),
    (['--ground-truth', 'missing.json'], 'ground-truth annotations not found'),
])
def test_video_metrics_bad_arguments_are_one_line(tmp_path, capsys, work, extra, message):
    video, _ = _video_with_truth(tmp_path, frames=2)
    extra = [str(tmp_path / e) if e.endswith('.json') else e for e in extra]
    assert _demo([video, '--random-weights', '--out', tmp_path / 'o', *extra], work) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and message in err
    assert not (tmp_path / 'o').exists()


def test_ground_truth_must_be_a_video_annotation_file(tmp_path, capsys, work):
    video, truth = _video_with_truth(tmp_path, frames=2)
    doc = json.loads(truth.read_text())
    for a in doc['annotations']:
        del a['track_id']
    (tmp_path / 'plain.json').write_text(json.dumps(doc))
    assert _demo([video, '--random-weights', '--out', tmp_path / 'o', '--ground-truth', tmp_path / 'plain.json'],
                 work) == 2
    assert 'track_id' in capsys.readouterr().err


def test_video_and_annotations_of_different_length_are_refused_before_any_work(tmp_path, capsys, work):
    video, truth = _video_with_truth(tmp_path, frames=6)
    doc = json.loads(truth.read_text())
    keep = {im['id'] for im in doc['images'][:4]}
    doc['images'] = doc['images'][:4]
    doc['annotations'] = [a for a in doc['annotations'] if a['image_id'] in keep]
    (tmp_path / 'short.json').write_text(json.dumps(doc))
    assert _demo([video, '--random-weights', '--out', tmp_path / 'o', '--ground-truth', tmp_path / 'short.json'],
                 work) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'annotates 4 frames' in err and 'has 6' in err
    assert not (tmp_path / 'o').exists()
    # --max-frames scores the first N of both
    assert _demo([video, '--random-weights', '--out', tmp_path / 'o', '--ground-truth', tmp_path / 'short.json',
                  '--max-frames', '4'], work) == 0
    assert json.loads((tmp_path / 'o' / 'metrics.json').read_text())['entries'][0]['frames'] == 4


def test_trained_weights_from_params_find_the_people(tmp_path, work):
    """`rtmpose demo --params` on the embedded default's trained weights (the committed detector, the committed
    pre-trained pose model): the pipeline finds the people of a synthetic video and its poses score far above
    what untrained weights score (0: they find nobody)."""
    import yaml

    from rtmpose.checkpoint import read_checkpoint, save_atomic
    repo = Path(__file__).resolve().parents[2]
    det = repo / 'pretrained' / 'rtmdet-nano_synthetic-320.pth'
    pose = read_checkpoint(repo / 'pretrained' / 'rtmpose-t_synthetic-96x128.pth')
    save_atomic({'state_dict': pose['state_dict'], 'config': pose['meta']}, tmp_path / 'pose.pth')
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump({'pipeline': {'det_checkpoint': str(det), 'pose_checkpoint': str(tmp_path / 'pose.pth'),
                                                   'pose_model': 'rtmpose-t', 'exports': str(work), 'threads': 2}}))
    video, truth = _video_with_truth(tmp_path, frames=45, seed=0)     # the skip-frame stage's video, 3 s
    rc = main(['demo', str(video), '--params', str(params), '--ground-truth', str(truth), '--det-interval', '1',
               '--out', str(tmp_path / 'o'), '--quiet'])
    assert rc == 0
    (e,) = json.loads((tmp_path / 'o' / 'metrics.json').read_text())['entries']
    assert e['people_per_frame'] >= 0.6 * e['gt_people_per_frame']      # measured 1.89 of 2.18
    assert e['pose_AP'] > 0.2                                             # measured 0.40
