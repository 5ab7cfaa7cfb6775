"""Prepare a data set: convert a release from its native layout, or make the synthetic one.

Every converter reads its release, validates it and writes <out>/{train,val}.json + manifest.json
atomically (a failed run leaves no partial output). See datasets/README.md for each layout.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rtmpose.errors import Error

REAL = ('coco', 'aic', 'coco-wholebody', 'crowdpose', 'ap10k', 'mpii', 'coco-singleperson')
DECODE_CHOICES = ('none', 'sample', 'all')


@dataclass
class ReleaseConfig:
    """Settings of a real release (params.yaml `data.<name>`)."""
    raw: str = ''           # folder holding the release in its native layout
    decode: str = 'sample'  # decode-check images: none, a deterministic sample of 64 per split, all
    skip_invalid: bool = False
    split: int = 1          # AP-10K only

    def validate(self, where: str) -> None:
        if self.decode not in DECODE_CHOICES:
            raise Error(f'{where}: decode must be one of {", ".join(DECODE_CHOICES)}, got {self.decode!r}')
        if self.split not in (1, 2, 3):
            raise Error(f'{where}: split must be 1, 2 or 3, got {self.split!r}')


def prepare(dataset: str, raw: str | os.PathLike, out: str | os.PathLike, decode: str = 'sample',
            skip_invalid: bool = False, ap10k_split: int = 1) -> dict:
    """Convert one real release; return its manifest."""
    from rtmpose.data import aic, ap10k, coco, coco_wholebody, crowdpose, mpii
    from rtmpose.data.prepared import staged_dir, write_prepared
    raw_path = Path(raw).absolute()
    ids = None
    if dataset == 'coco-singleperson':
        splits, inputs, skipped, ids = coco.convert_single_person(raw_path, decode, skip_invalid)
    elif dataset == 'ap10k':
        splits, inputs, skipped = ap10k.convert(raw_path, decode, skip_invalid, ap10k_split)
    else:
        module = {'coco': coco, 'aic': aic, 'coco-wholebody': coco_wholebody, 'crowdpose': crowdpose,
                  'mpii': mpii}[dataset]
        splits, inputs, skipped = module.convert(raw_path, decode, skip_invalid)
    extra = {'decode_check': decode, 'skipped': {'count': len(skipped), 'first': skipped[:50]}}
    if ids is not None:
        extra['rule'] = ('val2017 images with exactly one person annotation, non-crowd, num_keypoints > 0 '
                         '(rtmpose.data.coco.single_person_subset)')
        extra['paper_count'] = 1045
    with staged_dir(out) as tmp:
        if ids is not None:
            (tmp / 'image_ids.json').write_text('[' + ','.join(map(str, ids)) + ']\n')
        manifest = write_prepared(tmp, dataset, splits, os.fspath(raw_path), inputs, extra)
    return manifest


def prepare_dataset(dataset: str, out: str | os.PathLike, settings) -> dict:
    """Make data set `dataset` in `out` with `settings` (a SyntheticConfig for `synthetic`, else a
    ReleaseConfig); return its manifest."""
    if dataset == 'synthetic':
        from rtmpose.data.synthetic import make_synthetic
        return make_synthetic(out, **asdict(settings))
    if not settings.raw:
        raise Error(f'{dataset}: no release folder given: use --raw DIR (the release in its native layout) '
                    f'or data.{dataset}.raw in the parameters file')
    return prepare(dataset, settings.raw, out, settings.decode, settings.skip_invalid, settings.split)
