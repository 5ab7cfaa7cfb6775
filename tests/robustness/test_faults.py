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


# ---------------------------------------------------------------- a model file of the wrong kind
@pytest.fixture(scope='module')
def wrong_files(tmp_path_factory):
    """An RTMPose-t checkpoint at 128x96 and exports a mismatched evaluation could be given: TinyPose's heatmap
    ONNX at the same input size, the checkpoint's own ncnn and ONNX files."""
    import torch

    from rtmpose import build_model
    from rtmpose.deploy.package import ExportSpec, export
    tmp = tmp_path_factory.mktemp('wrongkind')
    model = build_model('rtmpose-t', input_size=(96, 128), sigma=(2.45, 2.83))
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(), 'config': {
        'model': 'rtmpose-t', 'dataset': 'synthetic', 'model_overrides': {'input_size': [96, 128]}}}, ck)
    files = {}
    for name, spec in (('heatmap', ExportSpec('tinypose-128x96', 'onnxruntime')),
                       ('ncnn', ExportSpec('rtmpose-t', 'ncnn', checkpoint=str(ck))),
                       ('onnx', ExportSpec('rtmpose-t', 'onnxruntime', checkpoint=str(ck)))):
        rec = export(spec, tmp / 'exports', verbose=False)
        files[name] = str(tmp / 'exports' / rec['key'] / rec['main_file'])
    return ck, files


@pytest.mark.parametrize('which, backend, needle', [
    ('heatmap', None, "a heatmap model's output"),
    ('ncnn', 'openvino', 'a .param file is a ncnn model, which openvino does not open'),
    ('onnx', 'ncnn', 'a .onnx file is a onnxruntime model, which ncnn does not open'),
])
def test_eval_of_a_model_file_of_the_wrong_kind_is_one_line(wrong_files, tiny_set, which, backend, needle):
    ck, files = wrong_files
    args = ['eval', '--model-file', files[which], '--checkpoint', str(ck), '--data-dir', tiny_set,
            '--dataset', 'synthetic', '--no-progress']
    r = rtmpose(*args, *(['--backend', backend] if backend else []), timeout=180)
    assert_one_line_error(r, files[which], needle)


# ---------------------------------------------------------------- SIGTERM, as schedulers send it
@pytest.mark.slow
def test_sigterm_ends_training_in_one_line_with_exit_143_and_resumes(tmp_path, tiny_set):
    import signal
    import subprocess
    import sys
    import time

    import mlflow

    from tests.robustness.robust_helpers import REPO, tiny_experiment
    cfg = tiny_experiment(tmp_path, tiny_set, epochs=30, checkpoint_every_iters=1, val_interval=100)
    env = dict(os.environ, OMP_NUM_THREADS='1', MLFLOW_TRACKING_URI=f'sqlite:///{tmp_path}/mlflow.db')
    env.pop('RTMPOSE_NO_MLFLOW', None)
    last = tmp_path / 'runs' / 'tiny' / 'last.pth'
    p = subprocess.Popen([sys.executable, '-m', 'rtmpose.cli', 'train', '-c', cfg, '--no-progress'], cwd=REPO,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not last.exists():
        assert p.poll() is None and time.time() - t0 < 300, p.communicate()
        time.sleep(0.2)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    lines = [x for x in err.splitlines() if not x.startswith('rtmpose train: ')
             or 'terminated' in x or 'error' in x]
    assert lines == ['rtmpose train: terminated (SIGTERM); run it again to resume where a checkpoint was written']
    client = mlflow.MlflowClient(env['MLFLOW_TRACKING_URI'])
    (run,) = client.search_runs([client.get_experiment_by_name('train').experiment_id])
    assert run.info.status == 'KILLED'
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'train', '-c', cfg, '--no-progress',
                        '--set', 'epochs=30'], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'resumed from' in r.stderr, r.stderr


# ---------------------------------------------------------------- a full disk
@pytest.fixture()
def small_disk(tmp_path):
    """A tmpfs of 256 KiB (root only; skipped where mounting is not allowed)."""
    import subprocess
    mnt = tmp_path / 'small'
    mnt.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here ({r.stderr.decode().strip()[:80]})')
    yield mnt
    subprocess.run(['umount', '-l', str(mnt)], capture_output=True)


def _fill(folder, leave: int = 0) -> None:
    """Fill `folder`'s file system up to `leave` bytes."""
    import shutil
    free = shutil.disk_usage(folder).free
    with open(os.path.join(folder, 'filler'), 'wb') as f:
        f.write(b'\0' * max(0, free - leave))


def _full_disk_line(r, where, progress_lines: bool = False) -> None:
    """One error line naming `where` (or a file in it) and the full disk; a command that logs its progress
    (train) may have written progress lines before it."""
    if not progress_lines:
        assert_one_line_error(r, str(where), 'the disk is full')
        return
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr
    errors = [x for x in r.stderr.splitlines() if 'error' in x]
    assert len(errors) == 1 and str(where) in errors[0] and 'the disk is full' in errors[0], r.stderr


def test_full_disk_in_prepare_is_one_line_and_leaves_nothing(small_disk):
    out = small_disk / 'syn'
    r = rtmpose('prepare', 'synthetic', '--out', str(out), '--num-train', '40', '--num-val', '4')
    _full_disk_line(r, out)
    assert os.listdir(small_disk) == []


def test_full_disk_in_train_after_an_epoch_is_one_line(small_disk, tmp_path, tiny_set):
    from tests.robustness.robust_helpers import tiny_experiment
    cfg = tiny_experiment(tmp_path, tiny_set, runs_dir=str(small_disk / 'runs'))
    r = rtmpose('train', '-c', cfg, '--no-progress', timeout=300)
    _full_disk_line(r, small_disk / 'runs' / 'tiny', progress_lines=True)
    run_dir = small_disk / 'runs' / 'tiny'
    assert not [n for n in os.listdir(run_dir) if '.tmp-' in n]   # no half-written checkpoint


def test_full_disk_in_eval_and_export_is_one_line(small_disk, wrong_files, tiny_set):
    ck, _ = wrong_files
    _fill(small_disk, leave=0)
    out = small_disk / 'metrics.json'
    r = rtmpose('eval', '--checkpoint', str(ck), '--data-dir', tiny_set, '--dataset', 'synthetic', '--out',
                str(out), '--no-progress', timeout=180)
    _full_disk_line(r, small_disk)
    assert not out.exists()
    os.remove(small_disk / 'filler')
    r = rtmpose('export', 'rtmpose-t', '--backend', 'onnxruntime', '--out', str(small_disk / 'exports'), timeout=180)
    _full_disk_line(r, small_disk / 'exports')
    assert sorted(os.listdir(small_disk / 'exports')) == [LOCK_NAME]
