"""Cells, tables and their Markdown / CSV form.

Every numeric cell of a paper table is either `measured` (value + provenance: run, model, data set, box
source, backend, machine, file) or `not measured` (+ the command that would measure it here or elsewhere).
The paper's value sits beside it, never inside the measured column. `delta` is measured - paper when the
two were measured the same way (same data set and protocol); otherwise it says why it is not comparable.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rtmpose.reports.measured import Provenance, Value

NOT_MEASURED = 'not measured'


@dataclass
class Cell:
    kind: str                              # 'label' | 'measured' | 'not measured'
    text: str = ''                         # label text
    measured: float | str | None = None
    paper: float | str | None = None
    delta: str = ''
    provenance: Provenance | None = None
    command: str = ''                      # how to measure it (kind == 'not measured')
    note: str = ''
    digits: int = 1

    def fmt(self, v) -> str:
        if v is None:
            return '–'
        if isinstance(v, float):
            return f'{v:.{self.digits}f}'
        return str(v)


def label(text) -> Cell:
    return Cell('label', text='' if text is None else str(text))


def _num(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).rstrip('*'))
    except ValueError:
        return None


def compare(value: Value | None, paper, command: str, digits: int = 1, comparable: bool | str = True,
            ratio: bool = False, note: str = '') -> Cell:
    """A measured cell when `value` exists, else `not measured` with `command`.

    comparable: True, or a reason string why measured and paper differ in kind (other data set, machine).
    ratio: report measured/paper (latencies) instead of a difference.
    """
    if value is None:
        return Cell(NOT_MEASURED, paper=paper, command=command, note=note, digits=digits)
    m, p = value.value, paper
    delta = ''
    mn, pn = _num(m), _num(p)
    if p is None or p == '':
        delta = ''
    elif mn is None or pn is None:
        delta = 'same' if str(m) == str(p) else 'differs'
    elif ratio:
        delta = f'x{mn / pn:.2f}' if pn else ''
    else:
        d = round(mn - pn, digits) + 0.0  # no '-0.0'
        delta = f'{d:+.{digits}f}'
    if comparable is not True and delta:
        # a ratio of latencies on two machines still informs; a difference of APs on two data sets does not
        delta = f'{delta} (n/c: {comparable})' if ratio else f'n/c: {comparable}'
    return Cell('measured', measured=m, paper=p, delta=delta, provenance=value.provenance, note=note, digits=digits)


@dataclass
class Table:
    id: str
    caption: str
    source: str
    columns: list[tuple[str, str]]                 # (key, label)
    rows: list[dict[str, Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cells(self):
        for i, row in enumerate(self.rows):
            for key, _ in self.columns:
                if key in row:
                    yield i, key, row[key]


def _md_escape(s: str) -> str:
    return s.replace('|', '\\|').replace('\n', ' ')


def to_markdown(t: Table) -> str:
    refs: dict[str, int] = {}

    def ref(text: str) -> str:
        if text not in refs:
            refs[text] = len(refs) + 1
        return f'[{refs[text]}]'

    lines = [f'# {t.caption}', '', f'Paper source: {t.source}', '',
             'Each cell: **measured \\| paper \\| delta**. `not measured` cells name the command that would '
             'measure them; [n] points to the run or command below. n/c: not comparable (other data set, '
             'protocol or machine).', '']
    lines.append('| ' + ' | '.join(_md_escape(lbl) for _, lbl in t.columns) + ' |')
    lines.append('|' + '---|' * len(t.columns))
    for row in t.rows:
        out = []
        for key, _ in t.columns:
            c = row.get(key)
            if c is None:
                out.append('')
            elif c.kind == 'label':
                out.append(_md_escape(c.text))
            elif c.kind == 'measured':
                r = ref(f'{c.provenance.describe()}' + (f' ({c.note})' if c.note else ''))
                out.append(_md_escape(f'{c.fmt(c.measured)} {r} | {c.fmt(c.paper)} | {c.delta or "–"}'))
            else:
                r = ref(f'not measured here: `{c.command}`' + (f' ({c.note})' if c.note else ''))
                out.append(_md_escape(f'{NOT_MEASURED} {r} | {c.fmt(c.paper)} | –'))
        lines.append('| ' + ' | '.join(out) + ' |')
    lines.append('')
    for text, n in refs.items():
        lines.append(f'[{n}] {text}  ')
    if t.notes:
        lines += [''] + [f'- {n}' for n in t.notes]
    return '\n'.join(lines) + '\n'


CSV_FIELDS = ['table', 'row', 'column', 'label', 'status', 'measured', 'paper', 'delta', 'run', 'model', 'dataset',
              'box_source', 'backend', 'machine', 'source', 'command', 'note']


def to_csv(t: Table) -> str:
    """Long form: one line per cell, with its provenance or the command that would measure it."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator='\n')
    w.writeheader()
    keys = [k for k, _ in t.columns]
    row_label_key = 'method' if 'method' in keys else keys[0]
    for i, key, c in t.cells():
        row_name = t.rows[i][row_label_key].text if t.rows[i].get(row_label_key) is not None else str(i)
        rec = dict(table=t.id, row=i, column=key, label=row_name, status=c.kind, note=c.note)
        if c.kind == 'label':
            rec['measured'] = c.text
        else:
            rec.update(measured='' if c.measured is None else c.fmt(c.measured), paper='' if c.paper is None else c.fmt(c.paper),
                       delta=c.delta, command=c.command)
            if c.provenance is not None:
                p = c.provenance
                rec.update(run=p.run, model=p.model, dataset=p.dataset, box_source=p.box_source, backend=p.backend,
                           machine=p.machine, source=p.source)
        w.writerow(rec)
    return buf.getvalue()
