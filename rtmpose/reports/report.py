"""Rebuild reports/tables/, reports/figures/ and reports/fidelity.md (the paths of TablesConfig) from what
was measured."""
from __future__ import annotations

import os
from collections import Counter

from rtmpose.io import write_text_atomic
from rtmpose.reports.ablations import variant_table
from rtmpose.reports.build import build_all
from rtmpose.reports.config import TablesConfig
from rtmpose.reports.measured import collect
from rtmpose.paper import load_paper
from rtmpose.reports.tables import Table, to_csv, to_markdown


def summary(t: Table) -> str:
    c = Counter(cell.kind for _, _, cell in t.cells() if cell.kind != 'label')
    return f"{c['measured']} measured, {c['not measured']} not measured"


def _at(cfg: TablesConfig, path: str) -> str:
    return os.path.join(cfg.root, path)


def build_tables(cfg: TablesConfig, params: str | os.PathLike) -> list[Table]:
    """Every paper table from what `cfg` points at; `params` holds the ablation declarations."""
    paper = load_paper(_at(cfg, cfg.paper_dir))
    return build_all(paper, collect(cfg.root, cfg), variant_table(os.fspath(params)))


def _read_csv(path: str) -> list[dict]:
    import csv
    if not os.path.isfile(path):
        return []
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def build_reports(cfg: TablesConfig, params: str | os.PathLike, figures: bool = True,
                  fidelity: bool = True) -> list[tuple[str, str]]:
    """Write the tables (cfg.out), the figures (cfg.figures) and the fidelity report (cfg.fidelity)."""
    paper = load_paper(_at(cfg, cfg.paper_dir))
    m = collect(cfg.root, cfg)
    variants = variant_table(os.fspath(params))
    tables = build_all(paper, m, variants)
    from rtmpose.reports.build import deploy_points, pareto_front, table13
    accuracy, latency = _read_csv(_at(cfg, cfg.deploy_accuracy)), _read_csv(_at(cfg, cfg.bench_latency))
    tables.append(table13(accuracy, latency, m.machine, m.machine_cores, paper))
    written = []
    for t in tables:
        base = os.path.join(_at(cfg, cfg.out), t.id)
        write_text_atomic(base + '.md', to_markdown(t))
        write_text_atomic(base + '.csv', to_csv(t))
        written.append((base + '.{md,csv}', summary(t)))
    from rtmpose.reports.trained import trained_report
    md, table = trained_report(cfg)
    base = os.path.join(_at(cfg, cfg.out), 'trained')
    write_text_atomic(base + '.md', md)
    write_text_atomic(base + '.csv', table)
    written.append((base + '.{md,csv}', 'the embedded default\'s trained model (not in the paper)'))
    if figures:
        from rtmpose.reports.figures import roadmap_chart, speed_accuracy
        for path in speed_accuracy(paper, m, _at(cfg, cfg.figures)):
            written.append((path, 'Fig. 1 speed/accuracy'))
        for path in roadmap_chart(paper, m, variants, _at(cfg, cfg.figures)):
            written.append((path, 'Fig. 3 roadmap'))
        from rtmpose.reports.figures import deploy_pareto
        points = deploy_points(accuracy, latency, m.machine_cores)
        for path in deploy_pareto(points, pareto_front(points), _at(cfg, cfg.figures)):
            written.append((path, 'Table 13 Pareto (not in the paper)'))
    if fidelity:
        from rtmpose.reports.fidelity import fidelity_report
        from rtmpose.reports.fidelity import deploy_choices_section
        write_text_atomic(_at(cfg, cfg.fidelity), fidelity_report(tables, m, paper, params) + deploy_choices_section(
            _read_csv(_at(cfg, cfg.deploy_choices)), cfg.deploy_choices))
        written.append((_at(cfg, cfg.fidelity), 'paper / official configs / suite defaults'))
    return written
