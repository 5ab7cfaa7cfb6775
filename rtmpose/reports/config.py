"""`rtmpose tables` settings (params.yaml section `tables`): where the tables read from and write to.

Defaults live only here. Paths are relative to `root` (an absolute path stays as it is). The run folders
and the ablation results are not repeated in `tables`: the command takes them from the sections that
write them (`train.runs_dir`, `train.name`, `ablations.results_dir`). Kept free of heavy imports so
`rtmpose --help` can show these defaults.
"""
from __future__ import annotations

from dataclasses import dataclass

from rtmpose.errors import Error


@dataclass
class TablesConfig:
    root: str = '.'                                       # workspace holding reports/ and experiments/
    paper_dir: str = 'reports/paper'                      # the paper's values
    out: str = 'reports/tables'                           # table01..12.{md,csv}
    figures: str = 'reports/figures'
    fidelity: str = 'reports/fidelity.md'
    complexity: str = 'reports/complexity.json'           # `rtmpose info` (stage complexity)
    complexity_tables: str = 'reports/complexity_tables.json'   # stage complexity-tables
    eval_dir: str = 'reports/eval'                        # `rtmpose eval --out` files (*.json, recursively)
    bench_latency: str = 'reports/bench/latency.csv'      # `rtmpose bench`
    bench_pipeline: str = 'reports/bench/pipeline.csv'    # `rtmpose bench --pipeline`
    bench_machine: str = 'reports/bench/machine.json'
    deploy_accuracy: str = 'reports/deploy/accuracy.csv'  # `rtmpose deploy` (stage deploy): Table 13
    deploy_choices: str = 'reports/deploy/choices.csv'    # inference-side choices (fidelity report)
    pipeline_accuracy: str = 'reports/pipeline/accuracy.json'    # `rtmpose pipeline-accuracy`: Table 12
    pipeline_skip_frame: str = 'reports/pipeline/skip_frame.csv' # skip-frame detection (Table 12 notes; optional)
    detector_config: str = 'experiments/detector/rtmdet-nano_synthetic.yaml'   # the detector's training (fidelity)
    detector_provenance: str = 'pretrained/rtmdet-nano_synthetic-320.json'     # provenance of its weights
    pretrained: str = 'pretrained/rtmpose-t_synthetic-96x128.json'   # provenance of `rtmpose pretrain`
    train_metrics: str = 'reports/train/metrics.json'     # the train stage's final validation
    train_eval: str = 'reports/eval/synthetic.json'       # `rtmpose eval` of the train stage's model (stage eval)
    train_seeds: str = 'reports/train/seeds.json'         # the committed spread over seeds (stage train-seeds)
    runs_dir: str = 'experiments/runs'                    # params.yaml train.runs_dir
    train_run: str | None = None                          # params.yaml train.name; None: every run in runs_dir
    ablation_results: str = 'experiments/ablations/results'   # params.yaml ablations.results_dir

    def validate(self, where: str) -> None:
        for name, value in vars(self).items():
            if value is not None and not str(value).strip():
                raise Error(f'{where}: {name} must not be empty')
