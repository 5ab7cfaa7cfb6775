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


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        pass
    return frozenset()


def int8_dot_saturates() -> bool:
    """True on an x86-64 CPU without VNNI (AVX512-VNNI or AVX-VNNI): there ONNX Runtime's u8 x s8 kernels
    multiply-add pairs with VPMADDUBSW, whose 16-bit intermediate sums saturate for large weights, and
    its documentation recommends 7-bit weights (reduce_range). With VNNI (VPDPBUSD, 32-bit sums) they don't."""
    flags = cpu_flags()
    if not flags or platform.machine().lower() not in ('x86_64', 'amd64'):
        return False
    return not ({'avx512_vnni', 'avx_vnni'} & flags)


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Installed versions of `names` (missing ones left out), plus Python's."""
    out = {'python': platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def usable_cores() -> int:
    """The logical CPUs this process may run on: its affinity mask where the OS has one (a container or
    `taskset` may allow fewer than the machine has), else os.cpu_count(). What `threads: all` means."""
    if hasattr(os, 'sched_getaffinity'):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def describe_machine() -> dict[str, object]:
    return dict(cpu=cpu_name(), logical_cores=os.cpu_count(), usable_cores=usable_cores(), platform=platform.platform(),
                omp_num_threads=os.environ.get('OMP_NUM_THREADS', ''), **library_versions())
