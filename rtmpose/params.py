"""Reading params.yaml: every stage takes its own section, and fails in one line on a bad value."""
from __future__ import annotations

import dataclasses
import os
from typing import Any, TypeVar

import yaml

from rtmpose.errors import Error

T = TypeVar('T')


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
    if not isinstance(data, dict):
        raise Error(f'{path}: expected a mapping at the top level')
    return data


def load_params(path: str | os.PathLike = 'params.yaml') -> dict[str, Any]:
    return read_yaml_mapping(path, 'parameters file')


def section(params: dict[str, Any], dotted: str, path: str = 'params.yaml') -> Any:
    node: Any = params
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            raise Error(f'{path}: missing section {dotted!r}')
        node = node[part]
    return node


def fill(cls: type[T], values: dict[str, Any], where: str) -> T:
    """Build dataclass `cls` from a mapping, naming any unknown field in the error."""
    if not isinstance(values, dict):
        raise Error(f'{where}: expected a mapping')
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise Error(f'{where}: unknown setting {unknown[0]!r} (known: {", ".join(sorted(names))})')
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise Error(f'{where}: {e}') from None
