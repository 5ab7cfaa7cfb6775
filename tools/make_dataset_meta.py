"""Print the per-dataset keypoint tables of rtmpose/data/meta.py from the official mmpose 1.3.2 configs.

Run in the reference environment:  /work/refenv/bin/python tools/make_dataset_meta.py
It reads configs/_base_/datasets/{coco,aic,coco_wholebody,crowdpose,ap10k,mpii}.py through mmpose's own
parse_pose_metainfo (so flip_indices, upper/lower body ids and sigmas are exactly what mmpose uses) and
prints a Python literal; tests/data/test_meta.py checks the committed tables against invariants.
"""
import os
import pprint

from mmengine.config import Config
from mmpose.datasets.datasets.utils import parse_pose_metainfo

import mmpose

BASE = os.path.join(os.path.dirname(mmpose.__file__), '.mim/configs/_base_/datasets')
FILES = {'coco': 'coco', 'aic': 'aic', 'coco-wholebody': 'coco_wholebody', 'crowdpose': 'crowdpose',
         'ap10k': 'ap10k', 'mpii': 'mpii'}

tables = {}
for name, stem in FILES.items():
    path = os.path.join(BASE, stem + '.py')
    meta = parse_pose_metainfo(dict(from_file=path))
    info = Config.fromfile(path).dataset_info
    names = [info.keypoint_info[i]['name'] for i in range(meta['num_keypoints'])]
    tables[name] = dict(
        names=names,
        flip_indices=[int(i) for i in meta['flip_indices']],
        sigmas=[float(s) for s in info.sigmas],
        skeleton=[[names.index(a) for a in info.skeleton_info[i]['link']] for i in range(len(info.skeleton_info))],
        upper_body_ids=[int(i) for i in meta['upper_body_ids']],
        lower_body_ids=[int(i) for i in meta['lower_body_ids']],
        joint_weights=[float(w) for w in info.joint_weights],
    )
print('_TABLES = ' + pprint.pformat(tables, width=110, compact=True))
