"""A typo in params.yaml never costs an output: after a complete (tiny) `dvc repro`, each section in turn gets a
bad value, and the refused `dvc repro` leaves every output in place, byte for byte (the `check` stage runs
before any stage's outputs are removed). A trained model is also restorable from the DVC cache."""
from __future__ import annotations

import os

import pytest
import yaml

from tests.pipeline.clones import REPO, clone_tiny, dvc, finish

# section: (dotted key, bad value, what the one-line refusal names)
BROKEN = {
    'complexity': ('complexity.num_keypoints', 'many', 'num_keypoints must be an integer'),
    'data': ('data.synthetic.num_train', 'lots', 'num_train must be an integer'),
    'train': ('train.epochs', 'ten', "epochs must be an integer, got 'ten'"),
    'eval': ('eval.batch_size', 'big', 'batch_size must be an integer'),
    'ablations': ('ablations.seeds', 'x', 'seeds'),
    'bench': ('bench.runs', 'many', 'runs must be an integer'),
    'pipeline': ('pipeline.det_interval', 'often', 'det_interval must be an integer'),
    'deploy': ('deploy.tolerance_ap', 'small', 'tolerance_ap must be a finite number'),
    'tables': ('tables.paper_dir', 5, 'paper_dir must be a string'),
    'pretrain': ('pretrain.train.epochs', 'ten', "epochs must be an integer, got 'ten'"),
}


def _files(clone) -> dict[str, bytes]:
    """Every output file of the pipeline (committed reports and git-ignored run and export folders)."""
    out = {}
    for top in ('reports', 'experiments', 'harness', 'pretrained', 'datasets'):
        for root, dirs, files in os.walk(clone / top):
            dirs[:] = [d for d in dirs if d != 'feature-cache']
            for f in files:
                if f == '.rtmpose.lock':
                    continue
                p = os.path.join(root, f)
                with open(p, 'rb') as fh:
                    out[os.path.relpath(p, clone)] = fh.read()
    return out


def _set(params: dict, dotted: str, value) -> None:
    node = params
    *parents, last = dotted.split('.')
    for p in parents:
        node = node[p]
    node[last] = value


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_broken_section_is_refused_before_any_output_is_removed(tmp_path):
    if not (REPO / '.git').exists():
        pytest.skip('not a git clone')
    clone = clone_tiny(tmp_path / 'clone')
    rc, out = finish(dvc(clone, 'repro'), timeout=900)
    assert rc == 0, out[-4000:]
    before = _files(clone)
    assert any(k.endswith('final.pth') for k in before) and 'reports/eval/synthetic.json' in before
    good = (clone / 'params.yaml').read_text()
    for section, (key, bad, needle) in BROKEN.items():
        params = yaml.safe_load(good)
        _set(params, key, bad)
        (clone / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
        rc, out = finish(dvc(clone, 'repro'))
        assert rc != 0, f'{section}: a bad {key} was not refused:\n{out[-2000:]}'
        assert needle in out and 'Running stage \'check\'' in out, f'{section}:\n{out[-2000:]}'
        assert out.count('Running stage') == 1, f'{section}: a stage ran after the refusal:\n{out[-2000:]}'
        after = _files(clone)
        assert after.keys() == before.keys(), f'{section}: {sorted(set(before) ^ set(after))[:5]}'
        assert all(after[k] == before[k] for k in before), f'{section}: an output changed'
    (clone / 'params.yaml').write_text(good)
    # a YAML syntax error: one line with its line and column, nothing removed
    (clone / 'params.yaml').write_text(good.replace('train:', 'train: [', 1))
    rc, out = finish(dvc(clone, 'repro'))
    assert rc != 0 and _files(clone) == before
    (clone / 'params.yaml').write_text(good)
    # the trained model is in the DVC cache: removed by hand, `dvc checkout` brings it back
    final = next(clone / k for k in before if k.endswith('synthetic-t/final.pth'))
    final.unlink()
    rc, out = finish(dvc(clone, 'checkout', 'train'))
    assert rc == 0 and final.read_bytes() == before[str(final.relative_to(clone))], out[-2000:]
