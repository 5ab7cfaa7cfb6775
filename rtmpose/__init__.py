"""rtmpose-suite: a faithful pure-PyTorch RTMPose with its codec, loss, data, training, deployment and reports.

The names below import on first use (PEP 562), so that commands which never touch a model (the tables, the
ablation summary, `rtmpose --help`) start without importing torch."""
from rtmpose.errors import Error

__version__ = '0.1.0'
__all__ = ['Error', 'KLDiscretLoss', 'MODEL_NAMES', 'RTMPose', 'RTMPoseConfig', 'SimCCCodec',
           'build_model', 'create', 'model_config']
_LAZY = {'SimCCCodec': 'rtmpose.codec', 'KLDiscretLoss': 'rtmpose.losses', 'MODEL_NAMES': 'rtmpose.models',
         'RTMPose': 'rtmpose.models', 'RTMPoseConfig': 'rtmpose.models', 'build_model': 'rtmpose.models',
         'create': 'rtmpose.models', 'model_config': 'rtmpose.models'}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == 'models':   # the subpackage, when reached as an attribute before being imported
        import importlib
        return importlib.import_module('rtmpose.models')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
