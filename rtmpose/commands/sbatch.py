"""`rtmpose sbatch -c EXPERIMENT.yaml --nodes N --gpus-per-node G > train.sbatch`: the Slurm script for multi-node
training (srun + torchrun, c10d rendezvous); docs/cluster.md."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--config', '-c', required=True, metavar='EXPERIMENT.yaml', help='what `rtmpose train -c` trains')
    p.add_argument('--nodes', type=int, default=1)
    p.add_argument('--gpus-per-node', type=int, default=1, help='0: CPU processes (one per node)')
    p.add_argument('--cpus-per-task', type=int, default=8)
    p.add_argument('--time', default='48:00:00', help='the job time limit (HH:MM:SS)')
    p.add_argument('--partition')
    p.add_argument('--log-dir', default='experiments/slurm-logs')
    p.add_argument('--port', type=int, default=29500, help='rendezvous port on the first node')
    p.add_argument('--out', help='write the script here instead of stdout')
    p.add_argument('train_args', nargs=argparse.REMAINDER, help='more `rtmpose train` arguments, after --')


def run(args: argparse.Namespace) -> int:
    from rtmpose.train.slurm import train_sbatch_script
    extra = [a for a in args.train_args if a != '--']
    text = train_sbatch_script(args.config, args.nodes, args.gpus_per_node, args.cpus_per_task, args.time,
                               args.partition, args.log_dir, args.port, extra)
    if args.out:
        from rtmpose.io import write_text_atomic
        write_text_atomic(args.out, text)
        print(f'rtmpose sbatch: wrote {args.out} (submit: sbatch {args.out})')
    else:
        print(text, end='')
    return 0
