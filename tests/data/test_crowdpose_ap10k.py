"""CrowdPose and AP-10K as their releases ship: which files are used, and the optional test split."""
import json

import pytest

import native
from rtmpose.data.prepare import prepare
from rtmpose.data.prepared import prepared_split, staged_dir, write_prepared
from rtmpose.errors import Error


def _read(out, split):
    return json.loads((out / f'{split}.json').read_text())


def test_crowdpose_release_as_downloaded(tmp_path):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    native.make_crowdpose_release(raw)                      # train 2, val 3, test 4 images; ann ids 101.. each
    manifest = prepare('crowdpose', raw, out)
    train, val = manifest['splits']['train'], manifest['splits']['val']
    assert train['sources'] == ['json/crowdpose_train.json', 'json/crowdpose_val.json']
    assert val['sources'] == ['json/crowdpose_test.json'] and 'note' not in val
    assert sorted(manifest['inputs_sha256']) == ['json/crowdpose_test.json', 'json/crowdpose_train.json',
                                                 'json/crowdpose_val.json']
    assert (train['images'], train['instances'], val['images'], val['instances']) == (5, 5, 4, 4)
    coco = _read(out, 'train')
    assert coco['info']['sources'] == train['sources']
    assert [im['id'] for im in coco['images']] == [1001, 1002, 2001, 2002, 2003]
    # train's annotations 101, 102; val's also start at 101, so val's become 103.. in file order
    assert [a['id'] for a in coco['annotations']] == [101, 102, 103, 104, 105]
    assert [a['image_id'] for a in coco['annotations']] == [1001, 1002, 2001, 2002, 2003]
    assert 'json/crowdpose_val.json renumbered 103..105' in train['note']
    assert [im['crowdIndex'] for im in coco['images']] == pytest.approx([0.1, 0.1, 0.2, 0.2, 0.2])
    assert [im['id'] for im in _read(out, 'val')['images']] == [3001, 3002, 3003, 3004]


def test_crowdpose_distinct_annotation_ids_are_kept(tmp_path):
    raw = tmp_path / 'raw'
    native.make_crowdpose_release(raw, same_ann_ids=False)
    manifest = prepare('crowdpose', raw, tmp_path / 'out')
    assert 'note' not in manifest['splits']['train']
    assert [a['id'] for a in _read(tmp_path / 'out', 'train')['annotations']] == [1101, 1102, 2101, 2102, 2103]


def test_crowdpose_trainval_preferred_when_present(tmp_path):
    raw = tmp_path / 'raw'
    native.make_crowdpose_release(raw)
    native.coco_like(raw, 'json/crowdpose_trainval.json', 'images', 14, n_images=2)
    manifest = prepare('crowdpose', raw, tmp_path / 'out')
    assert manifest['splits']['train']['sources'] == ['json/crowdpose_trainval.json']
    assert manifest['splits']['train']['images'] == 2
    assert sorted(manifest['inputs_sha256']) == ['json/crowdpose_test.json', 'json/crowdpose_trainval.json']


def test_crowdpose_mmpose_converted_files(tmp_path):
    raw = tmp_path / 'raw'
    native.coco_like(raw, 'annotations/mmpose_crowdpose_trainval.json', 'images', 14, n_images=3)
    native.coco_like(raw, 'annotations/mmpose_crowdpose_test.json', 'images', 14, n_images=1)
    native.coco_like(raw, 'annotations/crowdpose_test.json', 'images', 14, n_images=2)   # mmpose's wins
    manifest = prepare('crowdpose', raw, tmp_path / 'out')
    assert manifest['splits']['train']['sources'] == ['annotations/mmpose_crowdpose_trainval.json']
    assert manifest['splits']['val']['sources'] == ['annotations/mmpose_crowdpose_test.json']
    assert (manifest['splits']['train']['images'], manifest['splits']['val']['images']) == (3, 1)


@pytest.mark.parametrize('missing', ['crowdpose_val.json', 'crowdpose_test.json'])
def test_crowdpose_files_not_found_in_one_line(tmp_path, missing):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    native.make_crowdpose_release(raw)
    (raw / 'json' / missing).unlink()
    with pytest.raises(Error) as e:
        prepare('crowdpose', raw, out)
    msg = str(e.value)
    assert '\n' not in msg and msg.startswith(str(raw)) and 'not found' in msg and 'json/ or annotations/' in msg
    if missing == 'crowdpose_val.json':
        assert ('training annotation file not found (looked for mmpose_crowdpose_trainval.json, or '
                'crowdpose_trainval.json, or crowdpose_train.json + crowdpose_val.json') in msg
    else:
        assert 'test annotation file not found (looked for mmpose_crowdpose_test.json, or crowdpose_test.json' in msg
    assert not out.exists()


def test_crowdpose_image_ids_must_not_collide(tmp_path):
    raw = tmp_path / 'raw'
    native.make_crowdpose_release(raw)
    path = raw / 'json/crowdpose_val.json'
    data = json.loads(path.read_text())
    data['images'][0]['id'] = 1001
    data['annotations'][0]['image_id'] = 1001
    path.write_text(json.dumps(data))
    with pytest.raises(Error) as e:
        prepare('crowdpose', raw, tmp_path / 'out')
    assert str(e.value) == ('json/crowdpose_val.json: image id 1001 is also in json/crowdpose_train.json; '
                            'cannot concatenate them into one training set')


@pytest.mark.parametrize('split', [1, 3])
def test_ap10k_keeps_the_test_split(tmp_path, split):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    native.make_ap10k(raw, split)
    path = raw / f'annotations/ap10k-test-split{split}.json'
    data = json.loads(path.read_text())
    data['annotations'].append(dict(data['annotations'][0], id=999))
    path.write_text(json.dumps(data))
    manifest = prepare('ap10k', raw, out, ap10k_split=split)
    assert sorted(manifest['splits']) == ['test', 'train', 'val']
    test = manifest['splits']['test']
    assert test == {'file': 'test.json', 'images': 2, 'instances': 3, 'keypoints_labelled': 51,
                    'keypoints_visible': 51, 'sources': [f'annotations/ap10k-test-split{split}.json']}
    assert sorted(manifest['inputs_sha256']) == [f'annotations/ap10k-{s}-split{split}.json'
                                                 for s in ('test', 'train', 'val')]
    ann_file, root = prepared_split(out, 'test')
    assert ann_file == str(out / 'test.json') and root == str(raw.absolute())
    assert len(json.loads((out / 'test.json').read_text())['annotations']) == 3
    path.unlink()
    with pytest.raises(Error, match=f'ap10k-test-split{split}.json: annotation file not found'):
        prepare('ap10k', raw, tmp_path / 'out2', ap10k_split=split)


def test_prepared_layout_rejects_unknown_splits(tmp_path):
    coco = {'images': [], 'annotations': [], 'categories': []}
    with pytest.raises(Error, match="unknown split 'holdout'"):
        with staged_dir(tmp_path / 'out') as tmp:
            write_prepared(tmp, 'x', {'train': coco, 'holdout': coco}, '.', {})
    assert not (tmp_path / 'out').exists()
