"""The paper's values as data (reports/paper/*.yaml), one loader for the harness and the reports: read-only."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rtmpose.errors import Error

PAPER_DIR = 'reports/paper'
TABLE_IDS = tuple(f'table{i:02d}' for i in range(1, 13))


@dataclass(frozen=True)
class PaperTable:
    id: str
    caption: str
    source: str
    columns: tuple[tuple[str, str], ...]      # (key, label)
    rows: tuple[dict, ...]
    notes: str = ''
    stand_in: str = ''                         # set when the paper's own table is absent from the text
    extra: dict = field(default_factory=dict)

    def row(self, key: str) -> dict:
        for r in self.rows:
            if r['key'] == key:
                return r
        raise KeyError(f'{self.id}: no row {key!r}')


def _read(path: Path) -> PaperTable:
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise Error(f'{path}: cannot read paper table ({str(e).splitlines()[0]})') from None
    try:
        cols = tuple((c['key'], c['label']) for c in data['columns'])
        rows = tuple(data['rows'])
        known = {'id', 'caption', 'source', 'columns', 'rows', 'notes', 'stand_in'}
        table = PaperTable(data['id'], data['caption'], data['source'], cols, rows, data.get('notes', ''),
                           data.get('stand_in', ''), {k: v for k, v in data.items() if k not in known})
    except (KeyError, TypeError) as e:
        raise Error(f'{path}: malformed paper table (missing {e})') from None
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or 'key' not in r:
            raise Error(f'{path}: row {i} has no key')
    return table


def load_paper(paper_dir: str | os.PathLike = PAPER_DIR) -> dict[str, PaperTable]:
    """Every table file in `paper_dir`, by id (table01..table12, spec_latencies)."""
    d = Path(paper_dir)
    if not d.is_dir():
        raise Error(f'{d}: paper tables folder not found')
    tables = {t.id: t for t in (_read(p) for p in sorted(d.glob('*.yaml')))}
    missing = [t for t in TABLE_IDS if t not in tables]
    if missing:
        raise Error(f'{d}: missing paper table(s) {", ".join(missing)}')
    return tables


def paper_value(table_id: str, key: str, column: str, paper_dir: str | os.PathLike = PAPER_DIR) -> Any:
    """One published value, e.g. paper_value('spec_latencies', 'rtmpose-m', 'ort_i7_11700_ms'); None if absent."""
    table = load_paper(paper_dir).get(table_id)
    if table is None:
        return None
    for r in table.rows:
        if r['key'] == key:
            return r.get(column)
    return None
