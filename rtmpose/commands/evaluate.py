"""`rtmpose eval`: evaluate a checkpoint, or an exported artifact (--model-file) through its deploy runner.

The flags and the checkpoint path are rtmpose.evaluation.cli's; an artifact needs the deploy layer, which
sits above evaluation, so the command that joins them lives here.
"""
from __future__ import annotations

import argparse

from rtmpose.evaluation import cli as eval_cli


def configure(p: argparse.ArgumentParser) -> None:
    eval_cli.configure(p)


def run(args: argparse.Namespace) -> int:
    cfg = eval_cli.resolve(args)
    if not cfg.model_file:
        return eval_cli.run(args)
    from dataclasses import replace

    from rtmpose.deploy.artifact import artifact_wrapper, describe
    from rtmpose.errors import Error
    from rtmpose.evaluation.runner import run_evaluation
    if cfg.threads < 1:
        raise Error(f'threads must be >= 1, got {cfg.threads}')
    d = describe(cfg.model_file, cfg.backend, cfg.precision)
    if not cfg.checkpoint:
        if not d['checkpoint']:
            raise Error(f'{cfg.model_file}: no checkpoint recorded beside it (export.json); give --checkpoint '
                        'for the architecture')
        cfg = replace(cfg, checkpoint=d['checkpoint'])
    wrapper = artifact_wrapper(cfg.model_file, d['backend'], d['precision'], cfg.threads)
    result = run_evaluation(cfg, progress=not args.no_progress, mlflow=not args.no_mlflow, model_wrapper=wrapper)
    return eval_cli.report(result)
