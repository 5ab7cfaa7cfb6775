"""Safe checkpoint loading: released mmpose/mmdet files, bare state dicts and this suite's own files.

Checkpoints from the internet are untrusted input, so nothing is unpickled with arbitrary globals:
torch's weights-only unpickler runs with numpy's array-rebuilding functions allowed (mmpose's `meta`
holds numpy arrays) and every other global replaced by an inert `OpaqueObject` that runs no code.
"""
from __future__ import annotations

import importlib
import os
import pickle
import zipfile
from collections.abc import Mapping

import torch
from torch import nn

from rtmpose.errors import Error

# numpy objects needed to rebuild arrays and scalars; module may be numpy.core (1.x) or numpy._core (2.x).
_NUMPY_NAMES = {'_reconstruct', 'scalar', 'ndarray', 'dtype'}


class OpaqueObject:
    """Stand-in for any non-tensor, non-numpy object in a checkpoint: keeps its state, runs nothing."""

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state

    def __repr__(self) -> str:
        return 'OpaqueObject()'


def _numpy_global(name: str):
    module, _, attr = name.rpartition('.')
    if not module.startswith('numpy') or not (attr in _NUMPY_NAMES or
                                              (module == 'numpy.dtypes' and attr.endswith('DType'))):
        return None
    module = module.replace('numpy.core', 'numpy._core')
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def read_checkpoint(path: str | os.PathLike) -> object:
    """Load a checkpoint file onto the CPU without executing anything it contains."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise Error(f'{path}: checkpoint file not found')
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError, OSError) as e:
        raise Error(f'{path}: not a readable PyTorch checkpoint ({_first_line(e)})') from None
    allowed: list = []
    for name in names:
        obj = _numpy_global(name)
        allowed.append((obj, name) if obj is not None else (OpaqueObject, name))
    if any(name.startswith('numpy') for name in names):
        # dtype instances are rebuilt by type (e.g. Float32DType), which is never named as a global
        import numpy as np
        allowed += [getattr(np.dtypes, n) for n in np.dtypes.__all__ if n.endswith('DType')]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # any failure inside the unpickler means a damaged or foreign file
        raise Error(f'{path}: not a readable PyTorch checkpoint ({_first_line(e)})') from None


def _first_line(e: BaseException) -> str:
    text = str(e)
    if 'WeightsUnpickler error:' in text:  # torch's long advice text hides the actual reason
        text = text.split('WeightsUnpickler error:', 1)[1]
    elif 'Trying to load unsupported GLOBAL' in text:  # modules torch blocks outright (os, posix, ...)
        text = text[text.index('Trying to load unsupported GLOBAL'):]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else type(e).__name__


def state_dict_of(obj: object, path: str = '<checkpoint>', prefix: str = '') -> dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint: its `state_dict` (mmpose, this suite) or `model`, or the
    dict itself when it is a bare state dict. `module.` (DDP) is stripped; `prefix` selects and strips."""
    if isinstance(obj, Mapping):
        for key in ('state_dict', 'model'):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise Error(f'{path}: no state dict found (expected a dict of tensors, or one under "state_dict")')
    sd = {k.removeprefix('module.'): v for k, v in obj.items()}
    if prefix:
        sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if not sd:
            raise Error(f'{path}: no key starts with {prefix!r}')
    return sd


def check_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor], path: str) -> None:
    """Raise Error naming the first missing, unexpected or mis-shaped key."""
    own = model.state_dict()
    for key, value in own.items():
        if key not in sd:
            raise Error(f'{path}: missing key {key!r} (checkpoint has {len(sd)} keys, model {len(own)}); '
                        'is it for another model or keypoint count?')
        if tuple(sd[key].shape) != tuple(value.shape):
            raise Error(f'{path}: key {key!r} has shape {tuple(sd[key].shape)}, model expects '
                        f'{tuple(value.shape)}; is it for another model size or keypoint count?')
    for key in sd:
        if key not in own:
            raise Error(f'{path}: unexpected key {key!r}; is it for another model?')


def load_into(model: nn.Module, path: str | os.PathLike, prefix: str = '') -> dict:
    """Load a checkpoint into `model` with strict key and shape matching; returns the raw checkpoint."""
    path = os.fspath(path)
    raw = read_checkpoint(path)
    sd = state_dict_of(raw, path, prefix)
    check_state_dict(model, sd, path)
    model.load_state_dict(sd, strict=True)
    return raw if isinstance(raw, dict) else {}


def save_atomic(obj: object, path: str | os.PathLike) -> None:
    """torch.save to a temporary name, then rename, so a kill never leaves a half-written file. torch.save
    creates the file with open(), so it gets the usual 0666 & ~umask mode."""
    from rtmpose.io import make_parent
    path = os.fspath(path)
    make_parent(path)
    tmp = f'{path}.tmp-{os.getpid()}'   # a killed writer's leftover: rtmpose.io.remove_stale_temps
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except RuntimeError:
        # torch's writer reports a failed write without its errno ('file write failed', 'iostream error'):
        # when the disk is full at that moment, say so in one line; anything else stays a bug
        import errno
        import shutil
        if shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free >= (1 << 20):
            raise
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path) from None
    except OSError as e:
        from rtmpose.io import naming
        raise naming(e, path) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
