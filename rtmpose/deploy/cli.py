"""`rtmpose export`: export a model to a backend, run the accuracy gate, cache it under harness/exports."""
from __future__ import annotations

import argparse

BACKEND_CHOICES = ('onnx', 'onnxruntime', 'openvino', 'ncnn', 'tensorrt', 'torch', 'torch-compile')


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('model', nargs='?', help='model name (rtmpose-t ... or a peer such as litehrnet-30)')
    p.add_argument('--backend', choices=BACKEND_CHOICES)
    p.add_argument('--precision', default='fp32', choices=('fp32', 'fp16', 'bf16'))
    p.add_argument('--checkpoint', help='weights file (default: seeded random weights, fine for speed)')
    p.add_argument('--seed', type=int, default=0, help='seed of the random weights')
    p.add_argument('--out', default='harness/exports', help='export cache folder')
    p.add_argument('--opset', type=int, default=17, help='ONNX opset (<= 17; the official config uses 11)')
    p.add_argument('--dynamic-batch', action='store_true', help='symbolic batch axis in the ONNX file')
    p.add_argument('--threads', type=int, default=1, help='threads for the accuracy-gate run')
    p.add_argument('--force', action='store_true', help='rebuild even if a cached export exists')
    p.add_argument('--params', metavar='YAML',
                   help="export every model/backend/precision of this file's `bench` section instead")


def _specs(args):
    from rtmpose.deploy.package import ExportSpec
    from rtmpose.errors import Error
    if args.params:
        from rtmpose.harness.bench import BenchConfig, _conditions
        from rtmpose.settings import build as fill, read_params as load_params, params_section as section
        cfg = fill(BenchConfig, dict(section(load_params(args.params), 'bench', args.params)),
                   f'{args.params}: bench')
        args.out = cfg.exports
        return [ExportSpec(c.model, c.backend, c.precision, seed=cfg.seed) for c in _conditions(cfg)]
    if not args.model or not args.backend:
        raise Error('give MODEL and --backend, or --params params.yaml')
    return [ExportSpec(args.model, args.backend, args.precision, args.checkpoint, args.seed, args.dynamic_batch,
                       args.opset)]


def run(args: argparse.Namespace) -> int:
    from rtmpose.deploy.package import export
    from rtmpose.errors import Error
    failed = 0
    specs = _specs(args)
    for spec in specs:
        try:
            record = export(spec, args.out, force=args.force, threads=args.threads)
        except Error as e:
            if len(specs) == 1:
                raise
            print(f'{spec.model} {spec.backend} {spec.precision}: not exported: {e}')
            continue
        state = 'reused' if record['reused'] else 'exported'
        print(f'{state}: {record["dir"]} ({record["status"]}; weights {record["weights"]})')
        failed += record['status'] != 'ok'
    return 1 if failed else 0
