"""The whole `dvc repro` DAG in fresh clones of HEAD, shrunk to a tiny override of params.yaml.

What a new user's `make repro` does, at CI scale: clone the committed repository (twice, at two paths), shrink
every stage (one epoch, a handful of timed runs, two seeds, the smallest grid), run `dvc repro` and check:
it exits 0; a second `dvc repro` runs nothing and exits 0; `dvc status` is clean; the two clones' outputs
are byte-identical wherever no timing enters (training and evaluation results, the ablation summary, the
accuracy tables); no output names the clone's folder. The clones run the clone's own code (PYTHONPATH), with
this environment's tools (dvc, the installed libraries). The second clone runs without MLflow tracking (half a
minute less on 2 cores): its outputs must not depend on tracking either.
"""
from __future__ import annotations

import pytest

from tests.pipeline.clones import DETERMINISTIC, REPO, TIMED_JSON, clone_tiny, comparable, dvc, finish, outputs


@pytest.mark.timeout(600)
def test_dvc_repro_in_fresh_clones_is_complete_idempotent_and_path_free(tmp_path):
    if not (REPO / '.git').exists():
        pytest.skip('not a git clone')
    a, b = clone_tiny(tmp_path / 'first'), clone_tiny(tmp_path / 'second-clone-at-another-path')
    runs = [dvc(a, 'repro'), dvc(b, 'repro', mlflow=False)]   # the two clones at once: both cores
    results = [finish(p) for p in runs]
    for clone, (rc, out) in zip((a, b), results):
        assert rc == 0, f'dvc repro in {clone.name} failed:\n{out[-6000:]}'
    rc, out = finish(dvc(a, 'repro'))
    assert rc == 0, out[-3000:]
    assert 'Running stage' not in out, f'a second dvc repro ran stages:\n{out[-3000:]}'
    rc, out = finish(dvc(a, 'status'))
    assert rc == 0 and 'up to date' in out, f'dvc status is not clean:\n{out[-3000:]}'
    compared = 0
    for rel in DETERMINISTIC + tuple(TIMED_JSON):
        if not (a / rel).exists():
            assert not (b / rel).exists(), rel
            continue
        assert comparable(a, rel) == comparable(b, rel), f'{rel} differs between two clones of the same commit'
        compared += 1
    assert compared >= 6
    for clone in (a, b):
        for path in outputs(clone):
            if path.is_file():
                text = path.read_bytes()
                assert str(clone).encode() not in text, f'{path.relative_to(clone)} names the clone folder {clone}'
    # the committed tables and reports that the tiny run rewrote mention no absolute path of this machine
    for rel in ('reports/fidelity.md', 'reports/tables/table03.md', 'reports/eval/synthetic.json'):
        assert str(tmp_path).encode() not in (a / rel).read_bytes()
