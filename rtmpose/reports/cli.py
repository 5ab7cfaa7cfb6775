"""`rtmpose tables`: rebuild every paper table, the figures and the fidelity report from measured outputs.

    rtmpose tables                           # reports/tables/table01..12.{md,csv}, figures, fidelity.md
    rtmpose tables --complexity-json PATH    # measure the Table 1 baselines / RTMPose variants first

Settings (rtmpose.reports.config.TablesConfig) resolve as everywhere: explicit flag > --set > the params file
(section `tables`, plus the run folder from `train.runs_dir`/`train.name` and the ablation results from
`ablations.results_dir`) > the dataclass default.
"""
from __future__ import annotations

import argparse
import os

from rtmpose.reports.config import TablesConfig
from rtmpose.settings import default_of

# flags that set a TablesConfig field of the same name
_FLAGS = ('root', 'paper_dir', 'out', 'figures', 'fidelity')
# fields taken from the sections that write them, never repeated under `tables`
_FROM_OTHER_SECTIONS = {'runs_dir': 'train.runs_dir', 'train_run': 'train.name',
                        'ablation_results': 'ablations.results_dir'}


def _default(name: str) -> str:
    return f'(default {default_of(TablesConfig, name)})'


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--root', help=f'workspace root holding reports/ and experiments/ {_default("root")}')
    p.add_argument('--params', help='parameters file: section `tables`, train.runs_dir, train.name and the '
                                    'ablations (default: <root>/params.yaml)')
    p.add_argument('--paper-dir', help=f"the paper's values {_default('paper_dir')}")
    p.add_argument('--out', help=f'where table01..12.{{md,csv}} go {_default("out")}')
    p.add_argument('--figures', help=f'where the figures go {_default("figures")}')
    p.add_argument('--fidelity', help=f'fidelity report path {_default("fidelity")}')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help='override a setting of the `tables` section (e.g. eval_dir=reports/eval)')
    p.add_argument('--no-figures', action='store_true', help='tables only')
    p.add_argument('--complexity-json', metavar='PATH',
                   help='only measure the Table 1 baselines and RTMPose variants and write them here')


def params_path(args: argparse.Namespace) -> str:
    return args.params or os.path.join(args.root or default_of(TablesConfig, 'root'), 'params.yaml')


def resolve(args: argparse.Namespace) -> TablesConfig:
    return tables_config(params_path(args), args.set, {key: getattr(args, key, None) for key in _FLAGS})


def tables_config(path: str, sets=None, flags=None) -> TablesConfig:
    """The `tables` section of `path`, with the fields it takes from the sections that write them."""
    from rtmpose.errors import Error
    from rtmpose.settings import params_section, read_params, resolve
    params = read_params(path)
    values = dict(params_section(params, 'tables', path) or {})
    for key, dotted in _FROM_OTHER_SECTIONS.items():
        if key in values:
            raise Error(f'{path}: tables: {key} is not set here; it is {dotted}')
        values[key] = params_section(params, dotted, path)
    return resolve(TablesConfig, values=values, sets=sets, flags=flags, where=f'{path}: tables')


def run(args: argparse.Namespace) -> int:
    if args.complexity_json:
        from rtmpose.io import write_json_atomic
        from rtmpose.reports.table_complexity import table_complexity
        data = table_complexity()
        write_json_atomic(args.complexity_json, data)
        for k, v in data.items():
            g = v.get('total_gflops', v.get('gflops'))
            p = v.get('total_params_m', v.get('params_m'))
            print(f'{k:<26} {v["input"]:>8} {g:8.3f} GFLOPs {p:8.3f} M params')
        return 0
    from rtmpose.reports.report import build_reports
    written = build_reports(resolve(args), params_path(args), figures=not args.no_figures)
    for path, summary in written:
        print(f'{path}: {summary}')
    return 0
