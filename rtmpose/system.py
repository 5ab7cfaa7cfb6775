"""What this machine and its libraries are: recorded beside every measured number."""
from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

LIBRARIES = ('torch', 'numpy', 'opencv-python-headless', 'onnx', 'onnxruntime', 'onnxslim', 'openvino', 'ncnn',
             'pnnx')


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what the platform module says."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Installed versions of `names` (missing ones left out), plus Python's."""
    out = {'python': platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def describe_machine() -> dict[str, object]:
    return dict(cpu=cpu_name(), logical_cores=os.cpu_count(), platform=platform.platform(),
                omp_num_threads=os.environ.get('OMP_NUM_THREADS', ''), **library_versions())
