"""File helpers shared by every stage: atomic writes (an interrupted run leaves no half file), checked
JSON/YAML readers that fail in one line naming the file, and the sha256 of a file."""
from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from rtmpose.errors import Error


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def file_mode() -> int:
    """The mode a plainly created file gets: 0666 minus the process umask (mkstemp would give 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def ensure_folder(folder: str | os.PathLike, what: str = 'folder') -> None:
    """os.makedirs(folder), or a one-line Error naming the folder and why (e.g. a file on the way)."""
    folder = os.fspath(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        node = os.path.abspath(folder)
        while node != os.path.dirname(node) and not os.path.exists(node):
            node = os.path.dirname(node)
        if os.path.exists(node) and not os.path.isdir(node):
            raise Error(f'{folder}: cannot create the {what} ({node} is a file, not a folder)') from None
        raise Error(f'{folder}: cannot create the {what} ({e.strerror})') from None


def make_parent(path: str | os.PathLike) -> None:
    """Create the folder of `path`, or a one-line Error naming it when that is impossible."""
    ensure_folder(os.path.dirname(os.path.abspath(os.fspath(path))))


def check_writable(path: str | os.PathLike, what: str = 'output file') -> None:
    """Fail early (before any work) when `path` cannot be written: a regular file on the way, a folder
    in its place, or no write permission on the nearest existing folder. Creates nothing."""
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise Error(f'{path}: cannot write the {what} (is a folder)')
    node = os.path.dirname(path)
    while not os.path.exists(node):
        up = os.path.dirname(node)
        if up == node:
            break
        node = up
    if not os.path.isdir(node):
        raise Error(f'{path}: cannot write the {what} ({node} is not a folder)')
    target = path if os.path.exists(path) else node
    if not os.access(target, os.W_OK) or (target != node and not os.access(node, os.W_OK)):
        raise Error(f'{path}: cannot write the {what} (permission denied on {target})')


def naming(error: OSError, path: str | os.PathLike) -> OSError:
    """`error` with `path` as its filename when it has none (a write() or flush() failing on a full disk says
    nothing of the file), so the one-line message names what could not be written."""
    if error.filename is None and error.errno is not None:
        return OSError(error.errno, error.strerror or os.strerror(error.errno), os.fspath(path))
    return error


def write_figures(fig, stem: str | os.PathLike, dpi: int = 150, tight: bool = True) -> list[str]:
    """A matplotlib figure as `stem`.png (at `dpi`) and `stem`.svg, each written atomically, with no date or
    software version in them (the same figure gives the same bytes); returns the two paths."""
    paths = []
    for ext in ('png', 'svg'):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=dpi if ext == 'png' else None, bbox_inches='tight' if tight else None,
                    metadata={'Date': None} if ext == 'svg' else {'Software': None})
        write_bytes_atomic(f'{stem}.{ext}', buf.getvalue())
        paths.append(f'{stem}.{ext}')
    return paths


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    make_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=f'.tmp-{os.getpid()}', dir=path.parent)
    except OSError as e:
        raise naming(e, path) from None
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise naming(e, path) from None
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json_atomic(path: str | os.PathLike, obj: object) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def portable_path(path: str | os.PathLike) -> str:
    """`path` as a record should name it: relative to the working folder (the repository, for the stages)
    when it lies inside it, so that outputs do not depend on where the clone lives; else as given."""
    path = os.fspath(path)
    here = os.getcwd()
    full = os.path.abspath(path)
    if full == here or full.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, here)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def read_json(path: str | os.PathLike, what: str = 'JSON file') -> Any:
    """A JSON file's content, or a one-line Error naming the file and the problem."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise Error(f'{path}: {what} not found')
    try:
        with open(path, 'rb') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise Error(f'{path}: invalid JSON ({e.msg} at line {e.lineno} column {e.colno})') from None
    except UnicodeDecodeError:
        raise Error(f'{path}: invalid JSON (not UTF-8 text)') from None
    except OSError as e:
        raise Error(f'{path}: cannot read {what} ({e.strerror})') from None


def read_yaml_mapping(path: str | os.PathLike, what: str = 'parameters file') -> dict[str, Any]:
    """A YAML file whose top level is a mapping, or a one-line Error naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise Error(f'{path}: {what} not found')
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None) or getattr(e, 'context_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark is not None else ''
        problem = getattr(e, 'problem', None) or str(e).splitlines()[0]
        raise Error(f'{path}: invalid YAML{where} ({problem})') from None
    except OSError as e:
        raise Error(f'{path}: cannot read {what} ({e.strerror})') from None
    if not isinstance(data, dict):
        raise Error(f'{path}: expected a mapping at the top level')
    return data


def csv_text(rows: Iterable[Mapping[str, Any]], fields: Sequence[str], float_format: str = '.4g') -> str:
    """Rows as CSV text with a header, columns `fields` in order (other keys ignored, missing ones empty)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), extrasaction='ignore', lineterminator='\n')
    w.writeheader()
    for r in rows:
        w.writerow({k: (format(v, float_format) if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def write_csv_atomic(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], fields: Sequence[str],
                     float_format: str = '.4g') -> None:
    write_text_atomic(path, csv_text(rows, fields, float_format))


# ---------------------------------------------------------------- leftovers of killed writers
# Temporary names written here: `.NAME.XXXXXXXX.tmp-PID` (write_bytes_atomic), `NAME.tmp-PID`
# (checkpoint.save_atomic) and `.NAME.tmp-PID-XXXXXXXX` folders (rtmpose.data.prepared.staged_dir).
_TEMP_RE = re.compile(r'^(?:\..+\.tmp-(?P<a>\d+)|.+\.tmp-(?P<b>\d+)|\..+\.tmp-(?P<c>\d+)-.+)$')


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_owner(name: str) -> int | None:
    """The pid in one of this suite's temporary names, or None when `name` is not one."""
    m = _TEMP_RE.match(name)
    if not m:
        return None
    return int(next(g for g in m.groups() if g is not None))


def remove_stale_temps(folder: str | os.PathLike, prefix: str = '') -> list[str]:
    """Remove this suite's temporary files/folders in `folder` (names starting with `prefix`) whose
    writer process is gone; returns the removed names."""
    import shutil
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid = temp_owner(name)
        if pid is None or not name.startswith(prefix) or pid == os.getpid() or pid_alive(pid):
            continue
        p = os.path.join(folder, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.remove(p)
            removed.append(name)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------- folder locks
LOCK_NAME = '.rtmpose.lock'
_HELD: dict[str, int] = {}   # realpath of a locked folder -> nesting depth (re-entrant in one process)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str = 'run folder', on_message=None):
    """Hold an exclusive OS lock (fcntl.flock) on `folder`/.rtmpose.lock while the block runs.

    The lock file holds {"pid", "host", "start"} of the holder; a second process fails in one line
    naming them. The kernel drops the lock when its holder dies, so a lock file whose holder is gone is
    taken over (with a message). Nested use in the same process is a no-op."""
    import fcntl
    folder = os.fspath(folder)
    ensure_folder(folder, what)
    key = os.path.realpath(folder)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    path = os.path.join(folder, LOCK_NAME)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise Error(f'{path}: cannot create the lock file ({e.strerror})') from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise Error(f'{path}: cannot lock ({e.strerror})') from None
            h = _read_holder(fd)
            raise Error(f'{folder}: {what} in use by pid {h.get("pid", "?")} on {h.get("host", "?")} since '
                        f'{h.get("start", "?")}; wait for it to finish or use another name') from None
        prev = _read_holder(fd)
        if prev.get('pid') not in (None, os.getpid()):
            msg = (f'{folder}: taking over the lock of pid {prev.get("pid")} on {prev.get("host", "?")} '
                   f'(started {prev.get("start", "?")}), which is no longer running')
            (on_message or (lambda m: print(f'rtmpose: {m}', file=sys.stderr)))(msg)
        me = {'pid': os.getpid(), 'host': socket.gethostname(),
              'start': time.strftime('%Y-%m-%dT%H:%M:%S%z')}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + '\n').encode(), 0)
        except OSError as e:       # e.g. a full disk: said in one line, naming the lock file
            raise naming(e, path) from None
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
            os.ftruncate(fd, 0)      # released cleanly: no holder to report or take over
    finally:
        os.close(fd)   # closing the descriptor drops the flock


@contextlib.contextmanager
def folder_locks(folders: Iterable[str | os.PathLike | None], what: str = 'output folder'):
    """folder_lock on each of `folders` (None and repeats skipped) for the block: every command that writes a
    folder other commands read holds it, so two writers never mix their files (the second is refused in one
    line naming the first)."""
    seen = []
    with contextlib.ExitStack() as stack:
        for folder in folders:
            if folder is None or os.path.realpath(os.fspath(folder)) in seen:
                continue
            seen.append(os.path.realpath(os.fspath(folder)))
            stack.enter_context(folder_lock(folder, what))
        yield


def _read_holder(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or '{}')
        return data if isinstance(data, dict) else {}
    except (ValueError, UnicodeDecodeError, OSError):
        return {}


# ---------------------------------------------------------------- quiet image decoding
@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 for a moment: libjpeg/libpng/ffmpeg inside OpenCV print warnings there
    ('Premature end of JPEG file') that would precede the one-line error."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def imread_quiet(path: str | os.PathLike):
    """cv2.imread(path, IMREAD_COLOR) without the decoder's own stderr lines; None when not decodable."""
    import cv2
    with quiet_stderr():
        return cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
