"""CrowdPose: 14 keypoints, crowdIndex per image.

--raw layout: the release's annotation files in json/ (or annotations/), and images/*.jpg. As the official
RTMPose CrowdPose config (mmpose rtmpose-m_8xb64-210e_crowdpose-256x192.py) does, train is trainval and val
is the test set. The first of these found is used, per split:
    train: mmpose_crowdpose_trainval.json           (mmpose's converted file, the config's ann_file)
           crowdpose_trainval.json
           crowdpose_train.json + crowdpose_val.json (the release as downloaded; concatenated)
    val:   mmpose_crowdpose_test.json
           crowdpose_test.json
The files used are listed per split in the manifest (`splits.<split>.sources`) and in each output file's
`info.sources`. Concatenating train and val requires distinct image ids (the release's are unique across
splits); clashing annotation ids are renumbered deterministically (val's, in file order, after train's
largest) and the manifest says so (`splits.train.note`).
"""
from __future__ import annotations

from pathlib import Path

from rtmpose.data.checks import require_dir
from rtmpose.data.coco import convert_coco_style
from rtmpose.data.meta import DATASET_META
from rtmpose.errors import Error

ANN_DIRS = ('json', 'annotations')
TRAIN_CHOICES = (('mmpose_crowdpose_trainval.json',), ('crowdpose_trainval.json',),
                 ('crowdpose_train.json', 'crowdpose_val.json'))
VAL_CHOICES = (('mmpose_crowdpose_test.json',), ('crowdpose_test.json',))
IMAGE_DIR = 'images'


def _find(raw: Path, name: str) -> str | None:
    for folder in ANN_DIRS:
        if (raw / folder / name).is_file():
            return f'{folder}/{name}'
    return None


def pick_files(raw: Path, choices: tuple[tuple[str, ...], ...], what: str) -> list[str]:
    """Relative paths of the first choice whose files all exist; else one line naming what was looked for."""
    for names in choices:
        found = [_find(raw, n) for n in names]
        if all(found):
            return found
    looked = ', or '.join(' + '.join(names) for names in choices)
    raise Error(f'{raw}: CrowdPose {what} annotation file not found (looked for {looked} in '
                f'{" or ".join(d + "/" for d in ANN_DIRS)})')


def concatenate(parts: list[tuple[str, dict]]) -> tuple[dict, str | None]:
    """Join COCO dicts (train then val): image ids must be distinct; clashing annotation ids are
    renumbered in the later file (file order, after the largest id so far). -> (coco, note or None)."""
    first_rel, out = parts[0]
    out = {'images': list(out['images']), 'annotations': list(out['annotations']),
           'categories': out['categories']}
    image_from = {im['id']: first_rel for im in out['images']}
    notes = []
    for rel, coco in parts[1:]:
        for im in coco['images']:
            if im['id'] in image_from:
                raise Error(f'{rel}: image id {im["id"]} is also in {image_from[im["id"]]}; '
                            f'cannot concatenate them into one training set')
            image_from[im['id']] = rel
        out['images'].extend(coco['images'])
        ann_ids = {a['id'] for a in out['annotations']}
        anns = coco['annotations']
        if any(a['id'] in ann_ids for a in anns):
            start = max(ann_ids, default=0) + 1
            anns = [dict(a, id=start + i) for i, a in enumerate(anns)]
            notes.append(f'annotation ids of {rel} renumbered {start}..{start + len(anns) - 1} in file order '
                         f'(they clashed with ids of {first_rel})')
        out['annotations'].extend(anns)
    return out, ('; '.join(notes) or None)


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    require_dir(raw, 'raw CrowdPose release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    k = DATASET_META['crowdpose'].num_keypoints
    picked = {'train': pick_files(raw, TRAIN_CHOICES, 'training'),
              'val': pick_files(raw, VAL_CHOICES, 'test')}
    splits = {}
    for split, rels in picked.items():
        parts = [(rel, convert_coco_style(raw, rel, IMAGE_DIR, k, decode, skip_invalid, inputs, skipped,
                                          extra_img_keys=('crowdIndex',))) for rel in rels]
        coco, note = concatenate(parts)
        coco['info'] = {'description': f'CrowdPose {split} from {" + ".join(rels)}', 'sources': rels}
        if note:
            coco['info']['note'] = note
        splits[split] = coco
    return splits, inputs, skipped
