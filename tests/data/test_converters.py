"""Each converter on a tiny release in its native format, and every validation failure."""
import json
from pathlib import Path

import numpy as np
import pytest

import native
from rtmpose.cli import main
from rtmpose.data.prepare import prepare
from rtmpose.errors import Error

DATASETS = sorted(native.MAKERS)
FIRST_ANN = {'coco': 'annotations/person_keypoints_train2017.json',
             'coco-singleperson': 'annotations/person_keypoints_val2017.json',
             'crowdpose': 'json/crowdpose_trainval.json', 'ap10k': 'annotations/ap10k-train-split1.json',
             'coco-wholebody': 'annotations/coco_wholebody_train_v1.0.json',
             'aic': 'ai_challenger_keypoint_train_20170902/keypoint_train_annotations_20170909.json'}
RECORD = {'aic': 'record 0', 'mpii': 'annolist 0'}    # the first record; COCO-format files: its annotation id
NUM_KPTS = {'coco': 17, 'coco-singleperson': 17, 'crowdpose': 14, 'ap10k': 17, 'coco-wholebody': 133, 'aic': 14,
            'mpii': 16}


def _edit(root: Path, name: str, kind: str) -> str:
    """Break the first annotation of `name` in way `kind`; return the text the error must contain."""
    if name == 'mpii':
        rel = native.mpii_release()
        rect = rel['annolist'][0, 0]['annorect'][0, 0]
        pts = rect['annopoints']['point']
        if kind == 'count':
            pts[0, 0]['id'] = 20
            native.make_mpii(root, rel)
            return 'joint id 20'
        if kind == 'box':
            rect['scale'] = -1.0
            native.make_mpii(root, rel)
            return 'zero or negative'
        if kind == 'outside':
            pts[0, 0]['x'] = 500.0
            native.make_mpii(root, rel)
            return 'outside'
    path = root / FIRST_ANN[name]
    data = json.loads(path.read_text())
    if name == 'aic':
        human = data[0]
        if kind == 'count':
            human['keypoint_annotations']['human1'] = human['keypoint_annotations']['human1'][:-3]
            expect = '13 keypoints, expected 14'
        elif kind == 'box':
            human['human_annotations']['human1'] = [5, 6, 5, 40]
            expect = 'zero or negative size'
        else:
            human['keypoint_annotations']['human1'][0] = 400
            expect = 'keypoint 0 at (400, 12) lies outside'
    else:
        ann = data['annotations'][0]
        if kind == 'count':
            field = 'face_kpts' if name == 'coco-wholebody' else 'keypoints'
            ann[field] = ann[field][:-3]
            expect = 'face_kpts has 67 points' if name == 'coco-wholebody' else f'{NUM_KPTS[name] - 1} keypoints, expected {NUM_KPTS[name]}'
        elif kind == 'box':
            ann['bbox'] = [5, 6, 0, 30]
            expect = 'zero or negative size'
        else:
            ann['keypoints'][1] = -4
            expect = 'keypoint 0 at (10, -4) lies outside'
    path.write_text(json.dumps(data))
    return expect


@pytest.fixture
def release(tmp_path):
    def make(name):
        root = tmp_path / 'raw' / name
        native.MAKERS[name](root)
        return root
    return make


@pytest.mark.parametrize('name', DATASETS)
def test_converts_native_release(name, release, tmp_path):
    root = release(name)
    out = tmp_path / 'out'
    manifest = prepare(name, root, out)
    assert manifest['image_root'] == str(root.absolute())
    assert json.loads((out / 'manifest.json').read_text()) == manifest
    assert manifest['converter_version'] and manifest['inputs_sha256']
    splits = {'coco-singleperson': ['val'], 'ap10k': ['test', 'train', 'val']}.get(name, ['train', 'val'])
    assert sorted(manifest['splits']) == splits
    for split in splits:
        coco = json.loads((out / f'{split}.json').read_text())
        assert manifest['splits'][split]['images'] == len(coco['images']) > 0
        for img in coco['images']:
            assert (root / img['file_name']).is_file()
        for ann in coco['annotations']:
            assert len(ann['keypoints']) == 3 * NUM_KPTS[name]


def test_aic_visibility_and_mapping(release, tmp_path):
    prepare('aic', release('aic'), tmp_path / 'out')
    ann = json.loads((tmp_path / 'out/train.json').read_text())['annotations'][0]
    k = np.array(ann['keypoints']).reshape(14, 3)
    assert k[0, 2] == 1 and k[1].tolist() == [0, 0, 0] and k[2, 2] == 2     # AIC 2 -> 1, 3 -> 0, 1 -> 2
    assert ann['bbox'] == [5.0, 6.0, 30.0, 34.0] and ann['num_keypoints'] == 13


def test_mpii_box_follows_mmpose(release, tmp_path):
    prepare('mpii', release('mpii'), tmp_path / 'out')
    coco = json.loads((tmp_path / 'out/train.json').read_text())
    ann = coco['annotations'][0]
    # objpos (32, 24), scale 0.1: centre y + 15 * 0.1, minus 1 (1-based MATLAB); side 0.1 * 200
    assert ann['bbox_center'] == pytest.approx([31.0, 24.5]) and ann['bbox_scale'] == [20.0, 20.0]
    k = np.array(ann['keypoints']).reshape(16, 3)
    assert k[0].tolist() == [9.0, 11.0, 1] and k[1].tolist() == [10.0, 11.0, 2]
    assert ann['head_box'] == [19.0, 4.0, 29.0, 14.0]
    assert [im['id'] for im in json.loads((tmp_path / 'out/val.json').read_text())['images']] == [1, 11]


def test_single_person_rule(release, tmp_path):
    root = release('coco-singleperson')
    path = root / 'annotations/person_keypoints_val2017.json'
    data = json.loads(path.read_text())
    extra = dict(data['annotations'][0], id=999, iscrowd=1, num_keypoints=0, keypoints=[0] * 51)
    data['annotations'].append(extra)               # a crowd region disqualifies image 1
    path.write_text(json.dumps(data))
    manifest = prepare('coco-singleperson', root, tmp_path / 'out')
    assert json.loads((tmp_path / 'out/image_ids.json').read_text()) == [2]
    assert manifest['splits']['val']['images'] == 1 and manifest['paper_count'] == 1045


@pytest.mark.parametrize('name', DATASETS)
@pytest.mark.parametrize('kind', ['count', 'box', 'outside'])
def test_invalid_records_fail_in_one_line(name, kind, release, tmp_path):
    root = release(name)
    expect = _edit(root, name, kind)
    out = tmp_path / 'out'
    with pytest.raises(Error) as e:
        prepare(name, root, out)
    msg = str(e.value)
    assert expect in msg and '\n' not in msg
    assert RECORD.get(name, 'annotation 101') in msg     # the broken record, named as its release names it
    assert not out.exists() and not list(out.parent.glob('.out.tmp-*'))
    # --skip-invalid drops the record and lists it instead
    manifest = prepare(name, root, out, skip_invalid=True)
    assert manifest['skipped']['count'] == 1 and expect in manifest['skipped']['first'][0]


@pytest.mark.parametrize('name', DATASETS)
def test_missing_and_truncated_files(name, release, tmp_path):
    root = release(name)
    with pytest.raises(Error, match='not found'):
        prepare(name, tmp_path / 'nowhere', tmp_path / 'out')
    ann = root / FIRST_ANN.get(name, 'mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat')
    data = ann.read_bytes()
    ann.write_bytes(data[: len(data) // 2])
    with pytest.raises(Error, match='invalid JSON|not a readable MPII'):
        prepare(name, root, tmp_path / 'out')
    ann.unlink()
    with pytest.raises(Error, match='not found'):
        prepare(name, root, tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('name', DATASETS)
def test_missing_and_broken_images(name, release, tmp_path):
    root = release(name)
    images = sorted(p for p in root.rglob('*.jpg') if name != 'coco-singleperson' or 'val2017' in str(p))
    images[0].write_bytes(b'not a jpeg')
    out = tmp_path / 'out'
    if name in ('aic', 'mpii'):          # sizes come from headers, so a broken image always fails
        with pytest.raises(Error, match='does not decode'):
            prepare(name, root, out, decode='none')
    else:
        prepare(name, root, out, decode='none')                  # existence only
        with pytest.raises(Error, match='does not decode'):
            prepare(name, root, tmp_path / 'out2', decode='all')
    images[0].unlink()
    with pytest.raises(Error, match='does not exist'):
        prepare(name, root, tmp_path / 'out3', decode='none')
    assert not (tmp_path / 'out2').exists() and not (tmp_path / 'out3').exists()


def test_failed_run_keeps_previous_output(release, tmp_path):
    root = release('coco')
    out = tmp_path / 'out'
    prepare('coco', root, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _edit(root, 'coco', 'box')
    with pytest.raises(Error):
        prepare('coco', root, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_cli_exit_code_and_one_line(release, tmp_path, capsys):
    root = release('crowdpose')
    _edit(root, 'crowdpose', 'box')
    assert main(['prepare', 'crowdpose', '--raw', str(root), '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'crowdpose_trainval.json: annotation 101 (image id 1)' in err
    assert main(['prepare', 'coco', '--out', str(tmp_path / 'o')]) == 2
    assert main(['prepare', 'crowdpose', '--raw', str(release('ap10k')), '--out', str(tmp_path / 'o')]) == 2
