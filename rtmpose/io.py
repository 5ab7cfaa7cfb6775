"""File helpers shared by every stage: atomic writes (an interrupted run leaves no half file), checked
JSON/YAML readers that fail in one line naming the file, and the sha256 of a file."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from rtmpose.errors import Error


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json_atomic(path: str | os.PathLike, obj: object) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


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
        raise Error(f'{path}: invalid YAML ({str(e).splitlines()[0]})') from None
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
