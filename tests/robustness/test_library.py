"""Library-level pieces of the robustness work: stale locks, leftover temporary files, file modes, messages."""
import json
import os
import stat
import subprocess
import sys

from rtmpose.errors import Error


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, '-c', '0'])
    p.wait()
    return p.pid


def test_stale_lock_is_taken_over_with_a_message(tmp_path):
    from rtmpose.io import LOCK_NAME, folder_lock
    dead = _dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({'pid': dead, 'host': 'h', 'start': 't'}))
    messages = []
    with folder_lock(tmp_path, on_message=messages.append):
        held = json.loads((tmp_path / LOCK_NAME).read_text())
        assert held['pid'] == os.getpid() and held['host'] and held['start']
        with folder_lock(tmp_path):      # re-entrant in one process
            pass
    assert len(messages) == 1 and f'pid {dead}' in messages[0] and 'no longer running' in messages[0]
    assert (tmp_path / LOCK_NAME).read_text() == ''   # released cleanly: nothing to take over next time


def test_lock_held_by_another_process_names_it(tmp_path):
    from rtmpose.io import folder_lock
    code = ('import sys, time; from rtmpose.io import folder_lock\n'
            f'with folder_lock({str(tmp_path)!r}):\n    print("locked", flush=True); sys.stdin.read()')
    p = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == 'locked'
        try:
            with folder_lock(tmp_path):
                raise AssertionError('second lock taken')
        except Error as e:
            assert f'pid {p.pid}' in str(e) and 'in use' in str(e)
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    with folder_lock(tmp_path):          # free again after the holder exits
        pass


def test_killed_writers_temporary_files_are_removed(tmp_path):
    from rtmpose.io import remove_stale_temps
    dead = _dead_pid()
    names = {f'last.pth.tmp-{dead}': True, f'.metrics.json.ab12cd.tmp-{dead}': True,
             f'last.pth.tmp-{os.getpid()}': False, 'last.pth': False, 'notes.tmp': False}
    for n in names:
        (tmp_path / n).write_bytes(b'')
    (tmp_path / f'.out.tmp-{dead}-xyz').mkdir()
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([n for n, gone in names.items() if gone] + [f'.out.tmp-{dead}-xyz'])
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, gone in names.items() if not gone)


def test_written_files_get_normal_permissions(tmp_path):
    import torch

    from rtmpose.checkpoint import save_atomic
    from rtmpose.io import file_mode, write_json_atomic
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / 'a.json', {'x': 1})
        save_atomic({'x': torch.zeros(1)}, tmp_path / 'b.pth')
    finally:
        os.umask(old)
    for n in ('a.json', 'b.pth'):
        assert stat.S_IMODE(os.stat(tmp_path / n).st_mode) == 0o644, n
    assert file_mode() == 0o666 & ~old


def test_keypoint_count_is_an_integer():
    from rtmpose.data.checks import count_keypoints
    assert count_keypoints([0] * 48) == '16 keypoints'
    assert count_keypoints([0] * 50) == '50 keypoint values (not a multiple of 3)'
    assert count_keypoints(None) == 'no keypoints'


def test_check_writable(tmp_path):
    import pytest

    from rtmpose.io import check_writable
    f = tmp_path / 'plain.txt'
    f.write_text('x')
    with pytest.raises(Error, match='not a folder'):
        check_writable(f / 'm.json')
    with pytest.raises(Error, match='is a folder'):
        check_writable(tmp_path)
    check_writable(tmp_path / 'new' / 'm.json')
    assert not (tmp_path / 'new').exists()
