"""Regenerate the parity fixtures from a live mmpose 1.3.2 and compare with the committed ones.

Runs with `make test-reference` when REFERENCE_PYTHON points at the reference environment
(docs/reference-environment.md); skipped otherwise.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.reference


def _regenerate(tool: str, out, timeout: int) -> None:
    """Run tools/<tool> in the reference environment, writing fresh fixtures into `out`."""
    python = os.environ.get('REFERENCE_PYTHON')
    if not python or not os.path.exists(python):
        pytest.skip('set REFERENCE_PYTHON to the reference environment python')
    r = subprocess.run([python, f'tools/{tool}', str(out)], cwd=REPO, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]


def test_committed_fixtures_equal_a_fresh_run(tmp_path):
    _regenerate('make_parity_fixtures.py', tmp_path, timeout=1800)
    committed = os.path.join(FIXTURES, 'parity')
    fresh_ref = json.load(open(tmp_path / 'reference.json'))
    old_ref = json.load(open(os.path.join(committed, 'reference.json')))
    for part in ('models', 'codec', 'loss'):
        assert fresh_ref[part].keys() == old_ref[part].keys()
    for name in os.listdir(committed):
        if name.endswith('.npz'):
            a, b = np.load(os.path.join(committed, name)), np.load(tmp_path / name)
            for key in a.files:
                np.testing.assert_allclose(a[key], b[key], atol=1e-5, err_msg=f'{name}:{key}')


def test_rtmdet_loss_fixture_equals_a_fresh_run(tmp_path):
    """The RTMDet assigner/loss fixture regenerated from the live mmdet 3.3.0 equals the committed one."""
    _regenerate('make_rtmdet_loss_fixtures.py', tmp_path, timeout=600)
    committed = os.path.join(FIXTURES, 'rtmdet')
    old, new = json.load(open(os.path.join(committed, 'loss.json'))), json.load(open(tmp_path / 'loss.json'))
    assert {k: v for k, v in old.items() if k != 'versions'} == {k: v for k, v in new.items() if k != 'versions'}
    a, b = np.load(os.path.join(committed, 'loss.npz')), np.load(tmp_path / 'loss.npz')
    assert a.files == b.files
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_rtmdet_train_steps_fixture_equals_a_fresh_run(tmp_path):
    """The RTMDet training-steps fixture (mmengine Runner.train, tools/make_rtmdet_train_fixtures.py) regenerated
    from the live mmdet 3.3.0 / mmengine 0.10.7 equals the committed one: inputs, batch order, lrs and weight
    decays exactly; losses and weights within the float32 tolerances of tests/train/test_rtmdet_train_parity.py
    (bit-equal when regenerated on the same machine)."""
    _regenerate('make_rtmdet_train_fixtures.py', tmp_path, timeout=600)
    committed = os.path.join(FIXTURES, 'rtmdet')
    old = json.load(open(os.path.join(committed, 'train_steps.json')))
    new = json.load(open(tmp_path / 'train_steps.json'))
    losses = ('loss', 'loss_cls', 'loss_bbox')
    assert {k: v for k, v in old.items() if k not in ('versions', *losses)} == \
        {k: v for k, v in new.items() if k not in ('versions', *losses)}
    for k in losses:
        np.testing.assert_allclose(new[k], old[k], rtol=1e-5, err_msg=k)
    a, b = np.load(os.path.join(committed, 'train_steps.npz')), np.load(tmp_path / 'train_steps.npz')
    assert a.files == b.files
    atol = old['epochs'] * 4e-3 * 1e-4
    for key in a.files:
        if key.startswith(('image_', 'boxes_')):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key].astype(np.float32), b[key].astype(np.float32), rtol=1e-5,
                                       atol=atol, err_msg=key)
