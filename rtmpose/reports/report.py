"""Rebuild reports/tables/, reports/figures/ and reports/fidelity.md from what was measured."""
from __future__ import annotations

import os
from collections import Counter

from rtmpose.io import write_text_atomic
from rtmpose.reports.ablations import variant_table
from rtmpose.reports.build import build_all
from rtmpose.reports.measured import collect
from rtmpose.paper import load_paper
from rtmpose.reports.tables import Table, to_csv, to_markdown


def summary(t: Table) -> str:
    c = Counter(cell.kind for _, _, cell in t.cells() if cell.kind != 'label')
    return f"{c['measured']} measured, {c['not measured']} not measured"


def build_tables(root: str = '.', paper_dir: str = 'reports/paper', params: str = 'params.yaml') -> list[Table]:
    paper = load_paper(os.path.join(root, paper_dir))
    return build_all(paper, collect(root), variant_table(os.path.join(root, params)))


def build_reports(root: str = '.', paper_dir: str = 'reports/paper', out_dir: str = 'reports/tables',
                  params: str = 'params.yaml', figures_dir: str | None = 'reports/figures',
                  fidelity: str | None = 'reports/fidelity.md') -> list[tuple[str, str]]:
    paper = load_paper(os.path.join(root, paper_dir))
    m = collect(root)
    tables = build_all(paper, m, variant_table(os.path.join(root, params)))
    written = []
    for t in tables:
        base = os.path.join(root, out_dir, t.id)
        write_text_atomic(base + '.md', to_markdown(t))
        write_text_atomic(base + '.csv', to_csv(t))
        written.append((base + '.{md,csv}', summary(t)))
    if figures_dir is not None:
        from rtmpose.reports.figures import roadmap_chart, speed_accuracy
        for path in speed_accuracy(paper, m, os.path.join(root, figures_dir)):
            written.append((path, 'Fig. 1 speed/accuracy'))
        for path in roadmap_chart(paper, m, variant_table(os.path.join(root, params)), os.path.join(root, figures_dir)):
            written.append((path, 'Fig. 3 roadmap'))
    if fidelity is not None:
        from rtmpose.reports.fidelity import fidelity_report
        write_text_atomic(os.path.join(root, fidelity), fidelity_report(tables, m))
        written.append((os.path.join(root, fidelity), 'paper / official configs / suite defaults'))
    return written
