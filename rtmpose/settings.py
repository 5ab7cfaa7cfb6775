"""The one way settings are resolved, for every command and DVC stage.

Precedence, written once here:  explicit CLI flag  >  --set KEY=VALUE  >  the params.yaml section (or an
experiment file)  >  the dataclass default. Defaults live only in the dataclasses; params.yaml holds what
the pipeline runs with. Every value is checked against its field's type when read (an int is an int, a
float is a finite number, a bool is true/false) and then by the dataclass's own `validate(where)`, so a
bad value fails in one line that names the file, the section and the key.
"""
from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import yaml

from rtmpose.errors import Error
from rtmpose.io import read_yaml_mapping

T = TypeVar('T')
DEFAULT_PARAMS = 'params.yaml'


def read_params(path: str | os.PathLike = DEFAULT_PARAMS) -> dict[str, Any]:
    return read_yaml_mapping(path, 'parameters file')


def params_section(params: Mapping[str, Any], dotted: str, path: str | os.PathLike = DEFAULT_PARAMS) -> Any:
    """params['a']['b'] for 'a.b', or a one-line Error naming the missing section."""
    node: Any = params
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            raise Error(f'{os.fspath(path)}: missing section {dotted!r}')
        node = node[part]
    return node


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_sets(values: Mapping[str, Any], sets: Sequence[str] | None) -> dict[str, Any]:
    """--set key=value (a YAML value; dotted keys reach into mappings, e.g. model_overrides.use_gau=false)."""
    values = dict(values)
    for item in sets or []:
        if '=' not in item:
            raise Error(f'--set {item!r}: expected key=value')
        key, _, raw = item.partition('=')
        parts = key.strip().split('.')
        node = values
        for p in parts[:-1]:
            child = node.get(p)
            node[p] = dict(child) if isinstance(child, dict) else {}
            node = node[p]
        node[parts[-1]] = _parse_value(raw)
    return values


# ---------------------------------------------------------------- type checks
def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return ' or '.join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return 'null'
    if origin is not None:
        args = typing.get_args(tp)
        inner = f' of {_type_name(args[0])}' if args and origin in (list, tuple) else ''
        return {list: 'a list', tuple: 'a list', dict: 'a mapping'}.get(origin, str(origin)) + inner
    return {int: 'an integer', float: 'a finite number', bool: 'true or false', str: 'a string',
            list: 'a list', dict: 'a mapping', tuple: 'a list'}.get(tp, getattr(tp, '__name__', str(tp)))


_NO = object()


def _coerce(value: Any, tp: Any) -> Any:
    """`value` as type `tp` (int -> float widening, list -> tuple), or _NO when it does not fit."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            got = _coerce(value, arg)
            if got is not _NO:
                return got
        return _NO
    if tp is type(None):
        return None if value is None else _NO
    if tp is bool:
        return value if isinstance(value, bool) else _NO
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return _NO
    if tp is str:
        return value if isinstance(value, str) else _NO
    if tp in (list, tuple) or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return _NO
        args = typing.get_args(tp)
        if args and args[-1] is not Ellipsis and origin is tuple and len(args) != len(value):
            return _NO
        if args:
            item = args[0]
            out = [_coerce(v, item) for v in value]
            if any(v is _NO for v in out):
                return _NO
            value = out
        return list(value) if (tp is list or origin is list) else tuple(value)
    if tp is dict or origin is dict:
        return dict(value) if isinstance(value, dict) else _NO
    return value   # other annotations (dataclasses, callables) are checked by the class itself


def build(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Dataclass `cls` from `values`: unknown keys and wrong types fail in one line naming `where`."""
    if not isinstance(values, Mapping):
        raise Error(f'{where}: expected a mapping')
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise Error(f'{where}: unknown setting {unknown[0]!r} (known: {", ".join(sorted(names))})')
    checked = {}
    for key, value in values.items():
        got = _coerce(value, hints.get(key, Any))
        if got is _NO:
            raise Error(f'{where}: {key} must be {_type_name(hints[key])}, got {value!r}')
        checked[key] = got
    try:
        obj = cls(**checked)
    except (TypeError, ValueError) as e:
        raise Error(f'{where}: {e}') from None
    validate = getattr(obj, 'validate', None)
    if callable(validate):
        validate(where)
    return obj


def check_ranges(obj: Any, where: str, *, probabilities: Sequence[str] = (), at_least: Mapping[str, float] = {},
                 positive: Sequence[str] = ()) -> None:
    """Range checks for `validate(where)` methods: probabilities in [0, 1], `at_least` {name: low}
    (a count of None means 'all' and passes), `positive` > 0. Fails in one line naming the key."""
    for name in probabilities:
        v = getattr(obj, name)
        if v is not None and not 0 <= v <= 1:
            raise Error(f'{where}: {name} must be a probability in [0, 1], got {v!r}')
    for name, low in at_least.items():
        v = getattr(obj, name)
        if v is not None and v < low:
            raise Error(f'{where}: {name} must be >= {low:g}, got {v!r}')
    for name in positive:
        v = getattr(obj, name)
        if v is not None and not v > 0:
            raise Error(f'{where}: {name} must be > 0, got {v!r}')


def resolve(cls: type[T], *, params: str | os.PathLike | None = None, section: str | None = None,
            values: Mapping[str, Any] | None = None, sets: Sequence[str] | None = None,
            flags: Mapping[str, Any] | None = None, where: str | None = None) -> T:
    """Settings of type `cls`: dataclass defaults < `values` or the `section` of the `params` file <
    `sets` (--set KEY=VALUE) < `flags` (explicit CLI flags; None means not given)."""
    merged: dict[str, Any] = {}
    if values is not None:
        merged.update(values)
    elif params is not None and section is not None:
        merged.update(params_section(read_params(params), section, params))
        where = where or f'{os.fspath(params)}: {section}'
    merged = apply_sets(merged, sets)
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    return build(cls, merged, where or 'settings')


def default_of(cls: type, name: str) -> Any:
    """The dataclass default of field `name` (for --help texts)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(name)
