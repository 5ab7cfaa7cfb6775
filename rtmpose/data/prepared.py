"""The prepared layout every converter writes, and how to read it back.

<out>/train.json, <out>/val.json  normalised COCO keypoint files (images, annotations, categories)
<out>/test.json                   the same, for releases that ship a separate test split (AP-10K); optional
<out>/manifest.json               counts per split, sha256 of every input file, converter version, image_root;
                                  per split the input files it came from (`sources`) when the converter says

`image_root` is where the images' `file_name`s resolve; a relative image_root is relative to <out>.
Real releases keep their images where they are (image_root is the absolute --raw path); only the
synthetic set stores images inside <out>. The whole folder is built in a temporary sibling and renamed
at the end, so a failed or interrupted run leaves the previous output (or nothing) in place.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from rtmpose.errors import Error
from rtmpose.io import ensure_folder, remove_stale_temps

CONVERTER_VERSION = '1'
SPLITS = ('train', 'val')               # what training and evaluation read
OPTIONAL_SPLITS = ('test',)             # written when the release has a separate test set
ALL_SPLITS = SPLITS + OPTIONAL_SPLITS


def dump_json(obj: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, fixed separators) so equal content gives equal files."""
    return (json.dumps(obj, sort_keys=True, separators=(',', ':')) + '\n').encode()


@contextlib.contextmanager
def staged_dir(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to `out_dir`; on success it replaces `out_dir` in one rename."""
    out = Path(out_dir).absolute()
    ensure_folder(out.parent, 'folder of the output')
    if out.exists() and not out.is_dir():
        raise Error(f'{out}: cannot write the output folder (a file of that name exists)')
    remove_stale_temps(out.parent, prefix=f'.{out.name}.')   # left by a killed run
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f'.{out.name}.tmp-{os.getpid()}-', dir=out.parent))
    except OSError as e:
        raise Error(f'{out}: cannot write the output folder ({e.strerror} in {out.parent})') from None
    try:
        yield tmp
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f'.{out.name}.old.tmp-{os.getpid()}-', dir=out.parent))
            os.replace(out, old / 'x')
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:   # e.g. the disk filled up: name the folder being written, keep the previous one
        shutil.rmtree(tmp, ignore_errors=True)
        from rtmpose.io import naming
        raise naming(e, out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def split_stats(coco: dict) -> dict[str, int]:
    labelled = visible = 0
    for ann in coco['annotations']:
        v = ann['keypoints'][2::3]
        labelled += sum(1 for x in v if x > 0)
        visible += sum(1 for x in v if x == 2)
    return {'images': len(coco['images']), 'instances': len(coco['annotations']),
            'keypoints_labelled': labelled, 'keypoints_visible': visible}


def write_prepared(tmp: Path, dataset: str, splits: dict[str, dict], image_root: str,
                   inputs: dict[str, str], extra: dict[str, Any] | None = None) -> dict:
    """Write <tmp>/{split}.json and <tmp>/manifest.json; return the manifest.

    A split's `info.sources` / `info.note` (COCO's own info block) are repeated in its manifest entry."""
    manifest: dict[str, Any] = {
        'dataset': dataset, 'converter_version': CONVERTER_VERSION, 'image_root': image_root,
        'inputs_sha256': dict(sorted(inputs.items())), 'splits': {},
    }
    for split, coco in splits.items():
        if split not in ALL_SPLITS:
            raise Error(f'{dataset}: unknown split {split!r} (expected one of {", ".join(ALL_SPLITS)})')
        (tmp / f'{split}.json').write_bytes(dump_json(coco))
        manifest['splits'][split] = {'file': f'{split}.json', **split_stats(coco)}
        info = coco.get('info') if isinstance(coco.get('info'), dict) else {}
        manifest['splits'][split].update({k: info[k] for k in ('sources', 'note') if k in info})
    manifest.update(extra or {})
    (tmp / 'manifest.json').write_bytes(json.dumps(manifest, indent=2, sort_keys=True).encode() + b'\n')
    return manifest


def read_manifest(prepared_dir: str | os.PathLike) -> dict:
    path = Path(prepared_dir) / 'manifest.json'
    if not path.is_file():
        raise Error(f'{path}: not found (run `rtmpose prepare` first)')
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise Error(f'{path}: invalid JSON ({e.msg} at line {e.lineno})') from None


def prepared_split(prepared_dir: str | os.PathLike, split: str) -> tuple[str, str]:
    """(ann_file, image_root) of one split of a prepared data set, both as usable paths."""
    manifest = read_manifest(prepared_dir)
    if split not in manifest.get('splits', {}):
        raise Error(f'{prepared_dir}/manifest.json: no split {split!r}')
    root = Path(manifest['image_root'])
    if not root.is_absolute():
        root = Path(prepared_dir) / root
    return os.fspath(Path(prepared_dir) / manifest['splits'][split]['file']), os.fspath(root)
