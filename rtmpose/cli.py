"""The `rtmpose` command: parse arguments, call one library function, print user errors on one line.

Each subcommand lives in a small module with `configure(parser)` and `run(args) -> int`; heavy
imports happen inside `run`, so `rtmpose --help` stays fast.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import sys

from rtmpose.errors import Error, Terminated

# name: (module, one-line help). Modules import lazily.
COMMANDS = {
    'check': ('rtmpose.commands.check', 'validate every section of params.yaml as the stages read it'),
    'info': ('rtmpose.commands.info', 'parameters and GFLOPs of every model'),
    'prepare': ('rtmpose.data.cli', 'convert a data set release (or make the synthetic one)'),
    'train': ('rtmpose.train.cli', 'train a model from params.yaml / an experiment config'),
    'sbatch': ('rtmpose.commands.sbatch', 'write an sbatch script that trains on N nodes x G GPUs (torchrun)'),
    'train-detector': ('rtmpose.commands.train_detector', 'train the RTMDet person detector on a prepared set'),
    'pretrain': ('rtmpose.commands.pretrain', 'make the pre-trained starting point of the embedded default'),
    'eval': ('rtmpose.commands.evaluate', 'evaluate a checkpoint (or an exported --model-file) on a prepared data set'),
    'export': ('rtmpose.deploy.cli', 'export a model to a deployment backend and check its accuracy'),
    'deploy': ('rtmpose.commands.deploy', 'the trained model through every backend x precision: AP, gate, latency'),
    'pipeline-accuracy': ('rtmpose.commands.pipeline_accuracy',
                          'pose AP with the detector\'s boxes vs ground-truth boxes, paired over images'),
    'bench': ('rtmpose.harness.cli', 'time models and backends with the paper protocol'),
    'demo': ('rtmpose.inference.cli', 'run the detector + pose pipeline on images or video'),
    'ablate': ('rtmpose.commands.ablate', 'train and evaluate one roadmap ablation variant of params.yaml'),
    'tables': ('rtmpose.reports.cli', 'rebuild the paper tables and figures from measured results'),
}

# OSErrors that mean "this path cannot be written" (turned into one line by main)
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENOSPC,
                 errno.EROFS, errno.EDQUOT}


class _Parser(argparse.ArgumentParser):
    """Usage errors (unknown choice, missing or malformed flag) in one line, like every other user error;
    `--help` still shows the whole usage. Subcommand parsers inherit this class."""

    def error(self, message: str):
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported and configured (every command is listed), so a
    command starts without importing the others' dependencies. None: all of them."""
    parser = _Parser(prog='rtmpose', description='RTMPose: models, data, training, evaluation, '
                                     'deployment, the speed harness and the paper tables.')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command is None or command == name:
            importlib.import_module(module).configure(p)
        p.set_defaults(_module=module)
    return parser


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv[:1] if a in COMMANDS), '') if argv else ''
    args = build_parser(command).parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)   # handled as Ctrl-C is (one line, runs end as KILLED)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except Error as e:
        print(f'rtmpose {args.command}: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        # a path that cannot be written (read-only folder, a file where a folder should be, disk full):
        # the user's problem, said in one line; any other OSError is a bug and keeps its traceback
        if e.errno not in _WRITE_ERRNOS or not e.filename:
            raise
        why = f'the disk is full ({e.strerror})' if e.errno in (errno.ENOSPC, errno.EDQUOT) else e.strerror
        print(f'rtmpose {args.command}: error: {e.filename}: cannot write: {why}', file=sys.stderr)
        return 2
    except Terminated:
        print(f'rtmpose {args.command}: terminated (SIGTERM); run it again to resume where a checkpoint was '
              'written', file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f'rtmpose {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
