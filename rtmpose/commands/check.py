"""`rtmpose check --params params.yaml`: validate every section of the parameters file the way the stages
read it (DVC stage `check`, which every other stage depends on).

DVC removes a stage's outputs just before it runs the stage's command, so a command that refuses a bad value
has already lost what it made before. The `check` stage runs first, whenever any parameter changes, and
reads every section with the same settings classes the stages use: a typo stops `dvc repro` there, before
any output is touched. Its output (`--out`) only lists the sections it checked, so it changes only when the
sections do, and stages that depend on it do not rerun because some other parameter changed.
"""
from __future__ import annotations

import argparse
import os


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', default='params.yaml', help='parameters file (default: params.yaml)')
    p.add_argument('--out', metavar='JSON', help='write the list of checked sections here (the stage output)')


def check_params(path: str) -> list[str]:
    """Resolve every section of `path` as its stage does; returns the sections checked, raises the first
    problem as an Error (one line naming the file, the section and the key)."""
    from rtmpose.complexity import ComplexityConfig
    from rtmpose.data.prepare import REAL, ReleaseConfig
    from rtmpose.data.synthetic import SyntheticConfig
    from rtmpose.deploy.plan import resolve_plan
    from rtmpose.errors import Error
    from rtmpose.evaluation.config import EvalConfig
    from rtmpose.harness.accuracy import DeploySettings
    from rtmpose.harness.bench import BenchConfig
    from rtmpose.inference.pipeline import PipelineSettings
    from rtmpose.reports.cli import tables_config
    from rtmpose.settings import read_params, resolve
    from rtmpose.train.ablation import load_ablations, variant_train_config
    from rtmpose.train.config import load_config
    from rtmpose.train.pretrain import PretrainConfig
    params = read_params(path)          # a YAML syntax error: one line with its line and column
    checked = []

    def section(name: str, cls) -> None:
        if name in params:
            resolve(cls, params=path, section=name)
            checked.append(name)

    section('complexity', ComplexityConfig)
    data = params.get('data')
    if data is not None:
        if not isinstance(data, dict):
            raise Error(f'{path}: data must be a mapping')
        prepare = data.get('prepare', [])
        if not isinstance(prepare, list):
            raise Error(f'{path}: data: prepare must be a list of data set names, got {prepare!r}')
        for name in prepare:
            if name not in REAL + ('synthetic',):
                raise Error(f'{path}: data: prepare: unknown data set {name!r} (known: synthetic, {", ".join(REAL)})')
            resolve(SyntheticConfig if name == 'synthetic' else ReleaseConfig, params=path, section=f'data.{name}')
        if 'synthetic-video' in data:       # the skip-frame stage's video
            from rtmpose.data.synthetic_video import SyntheticVideoConfig
            resolve(SyntheticVideoConfig, params=path, section='data.synthetic-video')
        checked.append('data')
    if 'train' in params:
        load_config(path, 'train')
        checked.append('train')
    section('eval', EvalConfig)
    if 'ablations' in params:
        cfg, variants = load_ablations(path)
        for name, v in variants.items():
            if cfg.grid in v.grids and not v.unsupported:
                variant_train_config(cfg, v, name, cfg.seeds[0])
        checked.append('ablations')
    if 'bench' in params:
        resolve_plan(path)
        resolve(BenchConfig, params=path, section='bench')
        checked.append('bench')
    section('pipeline', PipelineSettings)
    _check_bench_frame(path, params)
    section('deploy', DeploySettings)
    if 'tables' in params:
        tables_config(path)
        checked.append('tables')
    section('pretrain', PretrainConfig)
    return checked


def _check_bench_frame(path: str, params: dict) -> None:
    """pipeline.bench_image naming a val image of the synthetic set must name one that data.synthetic renders:
    otherwise `dvc repro` would stop at pipeline_bench with DVC's missing-dependency message, after the
    stages before it had already run."""
    import re

    from rtmpose.data.synthetic import VAL_ID_OFFSET, SyntheticConfig
    from rtmpose.errors import Error
    from rtmpose.settings import resolve
    frame = str((params.get('pipeline') or {}).get('bench_image') or '')
    match = re.fullmatch(r'(?:.*/)?synthetic/images/val/(\d{8})\.jpg', frame)
    if not match or 'synthetic' not in ((params.get('data') or {}).get('prepare') or []):
        return
    rendered = resolve(SyntheticConfig, params=path, section='data.synthetic').num_val     # its default if unset
    number = int(match.group(1)) - VAL_ID_OFFSET
    if not 1 <= number <= rendered:
        raise Error(f'{path}: pipeline: bench_image {frame} is val image {number} of the synthetic set, but '
                    f'data.synthetic.num_val renders {rendered} (images {VAL_ID_OFFSET + 1:08d}.jpg to '
                    f'{VAL_ID_OFFSET + rendered:08d}.jpg)')


def run(args: argparse.Namespace) -> int:
    from rtmpose.io import write_json_atomic
    checked = check_params(args.params)
    if args.out:
        write_json_atomic(args.out, {'params': os.path.basename(args.params), 'sections_checked': checked})
    print(f'rtmpose check: {args.params}: {len(checked)} sections valid ({", ".join(checked)})')
    return 0
