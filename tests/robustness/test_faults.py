"""Faults that must lose nothing: two writers of one folder, a killed exporter's leftovers, a damaged record."""
import json
import os

import pytest

from rtmpose.io import LOCK_NAME, folder_lock
from tests.robustness.robust_helpers import assert_one_line_error, rtmpose, snapshot

# (command line with {out} for the locked folder, the folder to lock relative to tmp_path)
WRITERS = {
    'bench': (['bench', '--models', 'rtmpose-t', '--backends', 'onnxruntime', '--peers', '--out', '{out}',
               '--exports', '{tmp}/exports'], 'out'),
    'bench-exports': (['bench', '--models', 'rtmpose-t', '--backends', 'onnxruntime', '--peers', '--out',
                       '{tmp}/out', '--exports', '{out}'], 'exports'),
    'sweep': (['bench', '--sweep', 'people', '--out', '{out}', '--exports', '{tmp}/exports'], 'out'),
    'pipeline': (['bench', '--pipeline', '--random-weights', '--out', '{out}/pipeline.csv'], 'out'),
    'export': (['export', 'rtmpose-t', '--backend', 'onnxruntime', '--out', '{out}'], 'exports'),
    'demo': (['demo', '{image}', '--random-weights', '--out', '{out}', '--exports', '{tmp}/exports'], 'out'),
}


@pytest.fixture()
def image(tmp_path):
    import cv2
    import numpy as np
    path = tmp_path / 'frame.jpg'
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return str(path)


@pytest.mark.parametrize('name', sorted(WRITERS))
def test_a_second_writer_of_a_folder_is_refused_in_one_line(tmp_path, image, name):
    args, locked = WRITERS[name]
    folder = tmp_path / locked
    folder.mkdir()
    (folder / 'result.csv').write_text('earlier result\n')
    cmd = [a.format(out=folder, tmp=tmp_path, image=image) for a in args]
    with folder_lock(folder, 'output folder'):
        before = snapshot(folder)
        r = rtmpose(*cmd, timeout=120)
        assert snapshot(folder) == before          # nothing written, nothing removed
    assert_one_line_error(r, str(folder), f'in use by pid {os.getpid()}')


def test_deploy_and_eval_outputs_are_locked(tmp_path, tiny_set):
    out = tmp_path / 'deploy'
    with folder_lock(out):
        r = rtmpose('deploy', '--checkpoint', str(tmp_path / 'none.pth'), '--data-dir', tiny_set, '--out', str(out))
    assert_one_line_error(r, str(out), 'in use by pid')
    evals = tmp_path / 'eval'
    with folder_lock(evals):
        r = rtmpose('eval', '--checkpoint', str(tmp_path / 'none.pth'), '--data-dir', tiny_set,
                    '--out', str(evals / 'metrics.json'), '--no-progress')
    assert r.returncode != 0 and not (evals / 'metrics.json').exists()


def test_a_killed_exporters_folder_is_removed_and_a_damaged_record_re_exported(tmp_path, capsys):
    from rtmpose.deploy.package import ExportSpec, export
    root = tmp_path / 'exports'
    root.mkdir()
    dead = 2 ** 22 + 12345                      # no such process
    leftover = root / f'.rtmpose-t_onnxruntime_fp32.tmp-{dead}-abcd1234'
    leftover.mkdir()
    (leftover / 'model.onnx').write_bytes(b'x' * 1000)
    rec = export(ExportSpec('rtmpose-t', 'onnxruntime'), root, verbose=False)
    assert rec['status'] == 'ok' and not leftover.exists()
    record = root / rec['key'] / 'export.json'
    record.write_text(record.read_text()[:40])  # truncated by a kill mid-write
    capsys.readouterr()
    again = export(ExportSpec('rtmpose-t', 'onnxruntime'), root, verbose=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert again['reused'] is False and again['status'] == 'ok'
    assert len(err) == 1 and 'unreadable export record' in err[0] and str(record) in err[0]
    assert json.loads(record.read_text())['key'] == rec['key']
    assert sorted(p.name for p in root.iterdir()) == sorted([rec['key'], LOCK_NAME])
