import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rtmpose.data.prepared import dump_json
from rtmpose.data.synthetic import JPEG_QUALITY, SyntheticConfig, _rng, render_image
from rtmpose.data.synthetic_video import SyntheticVideoConfig, make_synthetic_video, render_video

SMALL = dict(frames=20, width=128, height=96)


@pytest.fixture(scope='module')
def video():
    cfg = SyntheticVideoConfig(seed=0, frames=120)
    frames, coco = render_video(cfg)
    return cfg, frames, coco


def _iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_same_seed_gives_identical_frames_and_json():
    fa, ca = render_video(SyntheticVideoConfig(seed=5, **SMALL))
    fb, cb = render_video(SyntheticVideoConfig(seed=5, **SMALL))
    fc, cc = render_video(SyntheticVideoConfig(seed=6, **SMALL))
    assert [f.tobytes() for f in fa] == [f.tobytes() for f in fb]
    assert dump_json(ca) == dump_json(cb)
    assert fa[0].tobytes() != fc[0].tobytes()
    assert dump_json(ca) != dump_json(cc)


def test_frames_and_images(video):
    cfg, frames, coco = video
    assert len(frames) == cfg.frames == len(coco['images'])
    assert all(f.shape == (cfg.height, cfg.width, 3) and f.dtype == np.uint8 for f in frames)
    assert [im['frame_index'] for im in coco['images']] == list(range(cfg.frames))
    assert {im['video_id'] for im in coco['images']} == {1}
    assert len({im['id'] for im in coco['images']}) == cfg.frames
    assert coco['categories'][0]['id'] == 1 and len(coco['categories'][0]['keypoints']) == 17
    # one static background: the pixels no walker ever reaches are the same in every frame
    stack = np.stack(frames)
    assert (stack == stack[0]).all(axis=(0, 3)).mean() > 0.2


def test_annotations_follow_the_data_set_conventions(video):
    cfg, _, coco = video
    w, h = cfg.width, cfg.height
    assert len({a['id'] for a in coco['annotations']}) == len(coco['annotations'])
    vis = []
    for a in coco['annotations']:
        assert a['category_id'] == 1 and a['iscrowd'] == 0
        for poly in a['segmentation']:     # a sliver of a few pixels at an edge has no polygon of 3 points
            assert len(poly) >= 6 and len(poly) % 2 == 0
            xs, ys = poly[0::2], poly[1::2]
            assert min(xs) >= 0 and max(xs) < w and min(ys) >= 0 and max(ys) < h
        x, y, bw, bh = a['bbox']
        assert bw > 0 and bh > 0 and x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
        assert 0 < a['area'] <= bw * bh
        k = np.array(a['keypoints'], np.float64).reshape(17, 3)
        assert a['num_keypoints'] == int((k[:, 2] > 0).sum())
        assert (k[k[:, 2] == 0, :2] == 0).all()                  # outside the image: v=0 at (0, 0)
        lab = k[k[:, 2] > 0]
        assert ((lab[:, 0] >= 0) & (lab[:, 0] < w) & (lab[:, 1] >= 0) & (lab[:, 1] < h)).all()
        # labelled keypoints lie on the figure's drawn pixels: inside its box up to a pixel
        assert ((lab[:, 0] >= x - 1) & (lab[:, 0] <= x + bw + 1) & (lab[:, 1] >= y - 1)
                & (lab[:, 1] <= y + bh + 1)).all()
        vis += k[:, 2].tolist()
    assert {0, 1, 2} <= set(vis)                                   # outside, covered, visible
    assert np.mean([bool(a['segmentation']) for a in coco['annotations']]) > 0.9


def test_tracks_are_stable_and_people_cross_enter_and_leave(video):
    cfg, _, coco = video
    frame_of = {im['id']: im['frame_index'] for im in coco['images']}
    by_track, by_frame = {}, {}
    for a in coco['annotations']:
        by_track.setdefault(a['track_id'], []).append(a)
        by_frame.setdefault(frame_of[a['image_id']], []).append(a)
    tracks = {t['id']: t for t in coco['tracks']}
    assert sorted(by_track) == sorted(tracks) == list(range(1, len(tracks) + 1))
    assert max(len(v) for v in by_frame.values()) <= cfg.max_people
    for tid, anns in by_track.items():
        frames = [frame_of[a['image_id']] for a in anns]
        assert frames == sorted(set(frames))                       # at most one box per person and frame
        assert (frames[0], frames[-1]) == (tracks[tid]['first_frame'], tracks[tid]['last_frame'])
        for a, b in zip(anns, anns[1:]):             # one body: its keypoints move a little per frame
            gap = frame_of[b['image_id']] - frame_of[a['image_id']]
            ka, kb = (np.array(x['keypoints'], np.float64).reshape(17, 3) for x in (a, b))
            both = (ka[:, 2] > 0) & (kb[:, 2] > 0)
            if both.any():
                step = np.linalg.norm(ka[both, :2] - kb[both, :2], axis=1).max()
                assert step <= 0.2 * tracks[tid]['height'] * gap, (tid, a['image_id'], step)
    # two people overlap (one crosses in front of the other) in some frame
    assert any(_iou(a['bbox'], b['bbox']) > 0 for anns in by_frame.values()
               for i, a in enumerate(anns) for b in anns[i + 1:])
    # someone enters after the start or leaves before the end, at an image edge
    edge = []
    for tid, anns in by_track.items():
        t = tracks[tid]
        for a, inside in ((anns[0], t['first_frame'] > 0), (anns[-1], t['last_frame'] < cfg.frames - 1)):
            x, _, bw, _ = a['bbox']
            if inside and (x == 0 or x + bw == cfg.width):
                edge.append(tid)
    assert edge


def test_embedded_data_set_images_unchanged():
    """The data set renderer's output for fixed seeds. The sha256 values were computed from render_image
    before the video module shared its helpers (pose parameters, pasting, annotation), with the pinned
    numpy and OpenCV of this environment; a different OpenCV build may draw differently."""
    expected = {
        (0, 0, 0): ('ba9951701eb9483e9492295893f30e0e30ef16df17a426dc3a87ca6f02ec786b',
                    'c1710160f31dad02bdddf65cf0030b19a8578a936dffdfd3f1280c2f8eb5867b'),
        (1, 1, 3): ('5f0a9eb6b6143ceb50ae6d7c5c756a427195726395550e947d351d4263f26425',
                    'd4efeefee73f20477c9ade3e5cc62c3005a2069352d58dbd56a11243a611609b'),
    }
    for (seed, split, index), (img_sha, ann_sha) in expected.items():
        img, anns = render_image(_rng(seed, split, index), SyntheticConfig())
        assert hashlib.sha256(img.tobytes()).hexdigest() == img_sha
        assert hashlib.sha256(json.dumps(anns, sort_keys=True).encode()).hexdigest() == ann_sha


def test_written_video_decodes_and_matches_the_annotations(tmp_path):
    import cv2
    cfg = SyntheticVideoConfig(seed=3, **SMALL)
    manifest = make_synthetic_video(tmp_path / 'v', cfg, progress=False)
    out = tmp_path / 'v'
    assert sorted(p.name for p in out.iterdir()) == sorted([manifest['video'], 'annotations.json', 'frames',
                                                            'manifest.json'])
    assert json.loads((out / 'manifest.json').read_text()) == manifest
    data = (out / 'annotations.json').read_bytes()
    assert manifest['annotations_sha256'] == hashlib.sha256(data).hexdigest()
    frames, coco = render_video(cfg)
    assert json.loads(data) == coco
    assert manifest['frames'] == cfg.frames and manifest['tracks'] == len(coco['tracks'])
    counts = manifest['people_per_frame']['frames_with']
    assert sum(int(k) * v for k, v in counts.items()) == len(coco['annotations'])
    cap = cv2.VideoCapture(str(out / manifest['video']))
    decoded = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        decoded.append(f)
    cap.release()
    assert len(decoded) == cfg.frames
    assert all(f.shape == (cfg.height, cfg.width, 3) for f in decoded)
    # lossy, but the same pictures: decoded frames are close to the rendered ones
    err = np.mean([np.abs(d.astype(np.int16) - f.astype(np.int16)).mean() for d, f in zip(decoded, frames)])
    assert err < 12, err
    # the frames as stills: the JPEGs the annotations name, a prepared set's val split
    from rtmpose.data.prepared import prepared_split
    ann, root = prepared_split(out, 'val')
    assert json.loads(Path(ann).read_bytes()) == coco and manifest['splits']['val']['images'] == cfg.frames
    for im, f in zip(sorted(coco['images'], key=lambda im: im['frame_index']), frames):
        ok, buf = cv2.imencode('.jpg', f, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_OPTIMIZE, 0,
                                           cv2.IMWRITE_JPEG_PROGRESSIVE, 0])   # as the data set's images
        assert ok and (Path(root) / im['file_name']).read_bytes() == buf.tobytes()
    assert not [p for p in tmp_path.iterdir() if p.name != 'v']    # no temporary sibling left


def test_falls_back_to_mjpg_avi(tmp_path, monkeypatch):
    import cv2
    real = cv2.VideoWriter

    def no_mp4v(path, fourcc, fps, size):
        return real() if fourcc == cv2.VideoWriter_fourcc(*'mp4v') else real(path, fourcc, fps, size)

    monkeypatch.setattr(cv2, 'VideoWriter', no_mp4v)
    cfg = SyntheticVideoConfig(seed=1, frames=6, width=96, height=64)
    manifest = make_synthetic_video(tmp_path / 'v', cfg, progress=False)
    assert (manifest['video'], manifest['fourcc']) == ('video.avi', 'MJPG') and 'MJPG' in manifest['video_note']
    assert sorted(p.name for p in (tmp_path / 'v').iterdir()) == ['annotations.json', 'frames', 'manifest.json',
                                                                'video.avi']
    cap = cv2.VideoCapture(str(tmp_path / 'v' / 'video.avi'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()


def test_failed_run_leaves_nothing(tmp_path, monkeypatch):
    import rtmpose.data.synthetic_video as sv
    real = sv._frames

    def broken(cfg, tracks):
        for i, item in enumerate(real(cfg, tracks)):
            if i == 3:
                raise RuntimeError('interrupted')
            yield item

    monkeypatch.setattr(sv, '_frames', broken)
    with pytest.raises(RuntimeError):
        make_synthetic_video(tmp_path / 'v', SyntheticVideoConfig(**SMALL), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_video_annotations_frames_and_manifest(tmp_path, capsys):
    from rtmpose.cli import main
    out = tmp_path / 'video'
    assert main(['prepare', 'synthetic-video', '--out', str(out), '--seed', '2', '--frames', '8',
                 '--width', '96', '--height', '72', '--fps', '10']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('synthetic-video -> ')
    manifest = json.loads((out / 'manifest.json').read_text())
    assert {manifest['video'], 'annotations.json', 'frames', 'manifest.json'} == {p.name for p in out.iterdir()}
    assert len(list((out / 'frames').glob('*.jpg'))) == 8
    assert manifest['params'] == {'seed': 2, 'frames': 8, 'width': 96, 'height': 72, 'fps': 10.0,
                                  'max_people': 3, 'occluder_prob': 0.2}


def test_cli_settings_from_params_and_set(tmp_path, capsys):
    from rtmpose.cli import main
    params = tmp_path / 'params.yaml'
    params.write_text('data:\n  synthetic-video: {seed: 4, frames: 6, width: 80, height: 64}\n')
    out = tmp_path / 'v'
    assert main(['prepare', 'synthetic-video', '--params', str(params), '--set', 'frames=5',
                 '--out', str(out)]) == 0
    assert json.loads((out / 'manifest.json').read_text())['params']['frames'] == 5


@pytest.mark.parametrize('argv, needle', [
    (['--frames', '0'], 'frames must be >= 1'),
    (['--fps', '0'], 'fps must be > 0'),
    (['--occluder-prob', '1.5'], 'occluder_prob'),
    (['--num-train', '3'], '--num-train does not apply'),
])
def test_cli_bad_value_is_one_line_exit_2(tmp_path, capsys, argv, needle):
    from rtmpose.cli import main
    out = tmp_path / 'v'
    assert main(['prepare', 'synthetic-video', '--out', str(out)] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('rtmpose prepare: error: ') and needle in err[0]
    assert not out.exists()


def test_video_flags_refused_for_other_data_sets(tmp_path, capsys):
    from rtmpose.cli import main
    assert main(['prepare', 'synthetic', '--out', str(tmp_path / 's'), '--frames', '5']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--frames applies to `prepare synthetic-video` only' in err[0]
    assert not (tmp_path / 's').exists()
