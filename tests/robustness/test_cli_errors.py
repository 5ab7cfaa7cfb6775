"""Every bad input through the real `rtmpose` CLI: exit != 0, one line on stderr naming the path or key and
the problem, no traceback, no partial output (the target absent or unchanged)."""
import os
import subprocess
import sys

import pytest

from tests.robustness.robust_helpers import assert_one_line_error, rtmpose, snapshot, tiny_experiment


# ---------------------------------------------------------------- prepare: unwritable --out
def test_prepare_out_under_a_regular_file(tmp_path):
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    r = rtmpose('prepare', 'synthetic', '--out', str(f / 'x'), '--num-train', '1', '--num-val', '1')
    assert_one_line_error(r, str(f), 'not a folder')
    assert f.read_text() == 'x'
    assert sorted(os.listdir(tmp_path)) == ['plain.txt']


def test_prepare_out_whose_parent_is_a_regular_file(tmp_path):
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    r = rtmpose('prepare', 'synthetic', '--out', str(f / 'a' / 'b'), '--num-train', '1', '--num-val', '1')
    assert_one_line_error(r, str(f))
    assert sorted(os.listdir(tmp_path)) == ['plain.txt']


def test_prepare_out_in_a_read_only_folder():
    import shutil
    import tempfile
    from pathlib import Path
    base = Path(tempfile.mkdtemp(prefix='rtmpose-ro-'))   # outside pytest's 0700 tmp tree: nobody can reach it
    try:
        os.chmod(base, 0o755)
        ro = base / 'ro'
        ro.mkdir()
        user = None
        if os.geteuid() == 0:   # root ignores permissions: run the command as nobody instead
            if subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', sys.executable,
                               '-c', '1'], capture_output=True).returncode != 0:
                pytest.skip('running as root and cannot drop to nobody with setpriv')
            user = 65534
        ro.chmod(0o555)
        r = rtmpose('prepare', 'synthetic', '--out', str(ro / 'x'), '--num-train', '1', '--num-val', '1', user=user)
        assert_one_line_error(r, str(ro / 'x'), 'ermission denied')
        assert os.listdir(ro) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- wrong types and ranges
@pytest.mark.parametrize('content, needle', [
    ('data:\n  synthetic:\n    num_train: ten\n', 'num_train must be an integer'),
    ('data:\n  synthetic:\n    occluder_prob: 1.7\n', 'occluder_prob must be a probability in [0, 1]'),
    ('data:\n  synthetic:\n    num_val: 0\n', 'num_val must be >= 1'),
    ('data:\n  synthetic: [unclosed\n', 'invalid YAML'),
])
def test_prepare_bad_params_file(tmp_path, content, needle):
    params = tmp_path / 'params.yaml'
    params.write_text(content)
    out = tmp_path / 'out'
    r = rtmpose('prepare', 'synthetic', '--params', str(params), '--out', str(out))
    assert_one_line_error(r, str(params), needle)
    assert not out.exists()


def test_prepare_missing_params_file(tmp_path):
    r = rtmpose('prepare', 'synthetic', '--params', str(tmp_path / 'nope.yaml'), '--out', str(tmp_path / 'out'))
    assert_one_line_error(r, 'nope.yaml', 'not found')
    assert not (tmp_path / 'out').exists()


def test_prepare_probability_flag_out_of_range(tmp_path):
    r = rtmpose('prepare', 'synthetic', '--occluder-prob', '1.7', '--out', str(tmp_path / 'out'))
    assert_one_line_error(r, 'occluder_prob', '[0, 1]')
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('setting, needle', [
    ('epochs=two', 'epochs must be an integer'),
    ('base_lr=abc', 'base_lr must be a finite number'),
    ('base_lr=.nan', 'base_lr must be a finite number'),
    ('train_limit=0', 'train_limit must be >= 1'),
    ('augment.flip_prob=1.5', 'flip_prob must be a probability'),
    ('model=nope', "unknown model 'nope'"),
])
def test_train_bad_setting(tmp_path, setting, needle):
    cfg = tiny_experiment(tmp_path, str(tmp_path / 'no-data'))
    r = rtmpose('train', '-c', cfg, '--set', setting, '--no-progress')
    assert_one_line_error(r, needle)
    assert not (tmp_path / 'runs').exists()


def test_train_num_train_wrong_type_in_params(tmp_path):
    params = tmp_path / 'params.yaml'
    params.write_text('train:\n  epochs: ten\n')
    r = rtmpose('train', '--params', str(params), '--no-progress')
    assert_one_line_error(r, str(params), 'epochs must be an integer')


def test_train_missing_params_file(tmp_path):
    r = rtmpose('train', '--params', str(tmp_path / 'nope.yaml'))
    assert_one_line_error(r, 'nope.yaml', 'not found')


def test_train_runs_dir_under_a_regular_file(tmp_path):
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    cfg = tiny_experiment(tmp_path, str(tmp_path / 'no-data'), runs_dir=str(f / 'runs'))
    r = rtmpose('train', '-c', cfg, '--no-progress')
    assert_one_line_error(r, str(f), 'not a folder')
    assert f.read_text() == 'x'


# ---------------------------------------------------------------- the run folder lock and leftovers
def test_train_refuses_a_locked_run_folder(tmp_path):
    from rtmpose.io import folder_lock
    cfg = tiny_experiment(tmp_path, str(tmp_path / 'no-data'))
    run_dir = tmp_path / 'runs' / 'tiny'
    with folder_lock(run_dir):
        before = snapshot(run_dir)
        r = rtmpose('train', '-c', cfg, '--no-progress')
        assert snapshot(run_dir) == before
    assert_one_line_error(r, str(run_dir), f'pid {os.getpid()}', 'since')


def test_corrupt_last_pth_suggests_fresh(tmp_path, tiny_set):
    cfg = tiny_experiment(tmp_path, tiny_set)
    run_dir = tmp_path / 'runs' / 'tiny'
    run_dir.mkdir(parents=True)
    (run_dir / 'last.pth').write_bytes(b'not a checkpoint')
    r = rtmpose('train', '-c', cfg, '--no-progress')
    assert_one_line_error(r, 'last.pth', '--fresh')
    assert (run_dir / 'last.pth').read_bytes() == b'not a checkpoint'
    assert not (run_dir / 'final.pth').exists()


def test_corrupt_image_fails_in_one_line_without_decoder_warnings(tmp_path, tiny_set):
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(tiny_set, data)
    for name in os.listdir(data / 'images' / 'train'):
        p = data / 'images' / 'train' / name
        p.write_bytes(b'\xff\xd8\xff\xe0' + os.urandom(300))   # a JPEG header, then garbage: libjpeg warns
    cfg = tiny_experiment(tmp_path, str(data))
    r = rtmpose('train', '-c', cfg, '--no-progress', '--fresh')
    # the trainer's own progress lines come first; the error is the last line and nothing else is noise
    lines = r.stderr.splitlines()
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr
    assert 'not decodable' in lines[-1] and lines[-1].startswith('rtmpose train: error:'), r.stderr
    assert all(line.startswith('rtmpose') for line in lines), r.stderr
    assert not (tmp_path / 'runs' / 'tiny' / 'final.pth').exists()


# ---------------------------------------------------------------- eval / demo: unwritable output, bad input
def test_eval_out_under_a_regular_file_fails_before_evaluating(tmp_path, tiny_set):
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    r = rtmpose('eval', '--model', 'rtmpose-t', '--dataset', 'synthetic', '--data-dir', tiny_set,
                '--out', str(f / 'm.json'), '--no-progress', '--no-mlflow', '--device', 'cpu')
    assert_one_line_error(r, str(f / 'm.json'), 'not a folder')
    assert r.stdout == ''
    assert f.read_text() == 'x'


def test_demo_out_unwritable(tmp_path, tiny_set):
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    image = os.path.join(tiny_set, 'images', 'val', sorted(os.listdir(os.path.join(tiny_set, 'images', 'val')))[0])
    r = rtmpose('demo', image, '--out', str(f / 'demo'))
    assert_one_line_error(r, str(f), 'not a folder')
    assert f.read_text() == 'x'


def test_demo_corrupt_image_without_decoder_warnings(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0' + bytes(range(256)) * 2)
    r = rtmpose('demo', str(bad), '--out', str(tmp_path / 'demo'))
    assert_one_line_error(r, str(bad), 'not a readable image')
    assert not (tmp_path / 'demo').exists()


def test_export_zero_threads_creates_nothing(tmp_path):
    r = rtmpose('export', 'rtmpose-t', '--backend', 'onnxruntime', '--threads', '0', '--out', str(tmp_path / 'exp'))
    assert_one_line_error(r, 'threads must be >= 1')
    assert not (tmp_path / 'exp').exists()


def test_unknown_backend(tmp_path):
    r = rtmpose('export', 'rtmpose-t', '--backend', 'nope', '--out', str(tmp_path / 'exp'))
    assert_one_line_error(r, "invalid choice: 'nope'", 'rtmpose export --help')
    assert not (tmp_path / 'exp').exists()


@pytest.mark.parametrize('args, needle', [
    (['--backends', 'nope'], "invalid choice: 'nope'"),
    (['--peers', 'nope'], "unknown model 'nope'"),
    (['--models', 'rtmpose-q'], "unknown model 'rtmpose-q'"),
    (['--external', 'nope'], "unknown external peer 'nope'"),
    (['--precisions', 'fp8'], "invalid choice: 'fp8'"),
])
def test_bench_refuses_unknown_names_before_exporting(tmp_path, args, needle):
    out, exports = tmp_path / 'bench', tmp_path / 'exports'
    r = rtmpose('bench', *args, '--no-mlflow', '--out', str(out), '--exports', str(exports))
    assert_one_line_error(r, needle)
    assert not out.exists() and not exports.exists()
