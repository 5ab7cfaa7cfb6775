"""What `rtmpose export` exports: one model/backend/precision, or every condition of a speed plan.

`ExportPlan` holds the keys of params.yaml's `bench` section that decide which exports exist (the speed
harness's settings extend it, so the bench and the DVC `export` stage read one definition). Settings
resolve with rtmpose.settings (flag > --set > params section > these defaults).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from rtmpose.deploy.export import DEFAULT_OPSET
from rtmpose.deploy.package import DEFAULT_ROOT, ExportSpec, export
from rtmpose.errors import Error


@dataclass
class ExportPlan:
    """Models x backends x precisions to export, as the `bench` section names them."""
    models: list[str] = field(default_factory=lambda: ['rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l'])
    peers: list[str] = field(default_factory=lambda: ['tinypose-128x96', 'tinypose-256x192', 'litehrnet-30',
                                                      'hrnet-w32', 'hrnet-w48-384x288'])
    backends: list[str] = field(default_factory=lambda: ['onnxruntime', 'openvino', 'ncnn', 'torch'])
    peer_backends: list[str] = field(default_factory=lambda: ['onnxruntime'])
    precisions: list[str] = field(default_factory=lambda: ['fp32'])
    exports: str = DEFAULT_ROOT            # the export cache folder
    seed: int = 0                          # seed of the random weights

    def validate(self, where: str) -> None:
        """Unknown model, peer, backend or precision names fail here, before anything is exported or timed."""
        from rtmpose.deploy.backends import PRECISIONS, backend
        from rtmpose.models import entry
        try:
            for m in self.models:
                entry(m, 'rtmpose', 'baseline')
            for m in self.peers:
                entry(m, 'peer')
            for b in (*self.backends, *self.peer_backends):
                backend(b)
        except Error as e:
            raise Error(f'{where}: {e}') from None
        bad = [p for p in self.precisions if p not in PRECISIONS]
        if bad:
            raise Error(f'{where}: unknown precision {bad[0]!r}; choose one of: {", ".join(PRECISIONS)}')

    def groups(self) -> list[tuple[str, list[ExportSpec]]]:
        """('models', specs) and ('peers', specs), each ordered model, backend, precision."""
        return [(group, [ExportSpec(m, b, p, seed=self.seed) for m in models for b in backends
                         for p in self.precisions])
                for group, models, backends in (('models', self.models, self.backends),
                                                ('peers', self.peers, self.peer_backends))]

    def specs(self) -> list[ExportSpec]:
        return [s for _, specs in self.groups() for s in specs]


@dataclass
class ExportSettings:
    """One export (`rtmpose export MODEL --backend B`)."""
    model: str | None = None
    backend: str | None = None
    precision: str = 'fp32'
    checkpoint: str | None = None          # default: seeded random weights (fine for speed)
    seed: int = 0
    opset: int = DEFAULT_OPSET             # ONNX opset (<= 17; the official config uses 11)
    dynamic_batch: bool = False
    threads: int = 1                       # threads of the accuracy-gate run
    force: bool = False                    # rebuild even when a cached export exists
    exports: str = DEFAULT_ROOT            # the export cache folder
    # int8 / mixed: prepared data set whose train split gives the calibration crops (None: seeded inputs)
    calibration_data: str | None = None
    calibration_count: int = 64

    def validate(self, where: str) -> None:
        if self.threads < 1:
            raise Error(f'{where}: threads must be >= 1, got {self.threads}')
        if self.calibration_count < 1:
            raise Error(f'{where}: calibration_count must be >= 1, got {self.calibration_count}')

    def spec(self) -> ExportSpec:
        if not self.model or not self.backend:
            raise Error('give MODEL and --backend, or --params params.yaml')
        from rtmpose.deploy.calibration import Calibration
        cal = Calibration(self.calibration_data, count=self.calibration_count)
        return ExportSpec(self.model, self.backend, self.precision, self.checkpoint, self.seed, self.dynamic_batch,
                          self.opset, calibration=cal)


def plan_values(section: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a `bench` section that belong to the export plan (the section also holds timing keys)."""
    names = {f.name for f in fields(ExportPlan)}
    return {k: v for k, v in section.items() if k in names}


def resolve_plan(params: str | os.PathLike, sets: Sequence[str] | None = None,
                 flags: Mapping[str, Any] | None = None) -> ExportPlan:
    """The ExportPlan of the `bench` section of `params` (flag > --set > section > default)."""
    from rtmpose.settings import params_section, read_params, resolve
    where = f'{os.fspath(params)}: bench'
    section = params_section(read_params(params), 'bench', params)
    if not isinstance(section, Mapping):
        raise Error(f'{where}: expected a mapping')
    return resolve(ExportPlan, values=plan_values(section), sets=sets, flags=flags, where=where)


def export_many(specs: Sequence[ExportSpec], root: str | os.PathLike, force: bool = False, threads: int = 1) -> int:
    """Export every spec (one Error fails the whole call when there is a single spec; with several, a spec
    that cannot be exported gets a line on stderr and the rest go on). Returns the number of exports that
    failed the accuracy gate (0: all good)."""
    failed = 0
    for spec in specs:
        try:
            record = export(spec, root, force=force, threads=threads)
        except Error as e:
            if len(specs) == 1:
                raise
            print(f'{spec.model} {spec.backend} {spec.precision}: not exported: {e}', file=sys.stderr)
            continue
        state = 'reused' if record['reused'] else 'exported'
        print(f'{state}: {record["dir"]} ({record["status"]}; weights {record["weights"]})')
        failed += record['status'] != 'ok'
    return failed


def run_export(settings: ExportSettings, plan: ExportPlan | None = None) -> int:
    """`rtmpose export`: every condition of `plan` when given (into its cache folder), else the one export
    of `settings`. Exit status 1 when an export failed the accuracy gate."""
    from rtmpose.io import folder_lock
    specs, root = (plan.specs(), plan.exports) if plan is not None else ([settings.spec()], settings.exports)
    with folder_lock(root, 'export cache'):
        return 1 if export_many(specs, root, force=settings.force, threads=settings.threads) else 0
