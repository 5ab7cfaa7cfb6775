"""`rtmpose tables`: rebuild every paper table, the figures and the fidelity report from measured outputs.

    rtmpose tables                           # reports/tables/table01..12.{md,csv}, figures, fidelity.md
    rtmpose tables --complexity-json PATH    # measure the Table 1 baselines / RTMPose variants first
"""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--root', default='.', help='workspace root holding reports/ and experiments/ (default .)')
    p.add_argument('--params', default='params.yaml', help='parameters file (ablation grid)')
    p.add_argument('--paper-dir', default='reports/paper', help="the paper's values (default reports/paper)")
    p.add_argument('--out', default='reports/tables', help='where table01..12.{md,csv} go')
    p.add_argument('--figures', default='reports/figures', help='where the figures go')
    p.add_argument('--fidelity', default='reports/fidelity.md', help='fidelity report path')
    p.add_argument('--no-figures', action='store_true', help='tables only')
    p.add_argument('--complexity-json', metavar='PATH',
                   help='only measure the Table 1 baselines and RTMPose variants and write them here')


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
    written = build_reports(args.root, args.paper_dir, args.out, args.params,
                            None if args.no_figures else args.figures, args.fidelity)
    for path, summary in written:
        print(f'{path}: {summary}')
    return 0
