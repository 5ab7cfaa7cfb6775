"""The paper's values as data (reports/paper/*.yaml), one loader for the harness and the reports: read-only."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
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
    """Every table file in `paper_dir`, by id (table01..table12, spec_latencies, paper_cpu)."""
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


# ---------------------------------------------------------------- the paper's CPU and what its latencies imply
PAPER_CPU = 'paper_cpu'                  # reports/paper/cpu_i7_11700.yaml
# (table id, GFLOPs columns summed, CPU latency column): every paper latency on the i7-11700
CPU_LATENCY_COLUMNS = (('table11', ('gflops',), 'cpu_ms'), ('table12', ('det_gflops', 'pose_gflops'), 'cpu_ms'))
SPEC_CPU_COLUMN = 'ort_i7_11700_ms'


@dataclass(frozen=True)
class CpuPeak:
    """The fp32 multiply-accumulate peak of one core of the paper's CPU, derived from its facts."""
    name: str
    cores: int
    clock_ghz: float
    clock: str                   # the fact the clock comes from (e.g. max_turbo_ghz)
    macs_per_cycle: int          # fp32 FMA lanes x FMA units, the best vector path
    isa: str                     # the path that gives it (ties: the first listed)
    per_core_gmacs: float        # macs_per_cycle x clock_ghz
    derivation: str
    paths: tuple[str, ...]       # every path's lanes x units
    sources: dict
    protocol: dict               # what the paper says it ran (threads, runtime)

    @property
    def all_cores_gmacs(self) -> float:
        """An upper bound for all cores at once (the all-core turbo is lower than the clock used here)."""
        return self.per_core_gmacs * self.cores


def _fact(table: PaperTable, key: str) -> float:
    try:
        return float(table.row(key)['value'])
    except (KeyError, TypeError, ValueError):
        raise Error(f'{PAPER_DIR}: {table.id}: fact {key!r} missing or not a number') from None


def paper_cpu(paper: Mapping[str, PaperTable] | None = None, paper_dir: str | os.PathLike = PAPER_DIR) -> CpuPeak:
    """The paper CPU's per-core fp32 peak in GMAC/s (one MAC = one FLOP, the paper's convention), computed
    from reports/paper/cpu_i7_11700.yaml: max over vector paths of lanes x FMA units, x the peak clock."""
    paper = load_paper(paper_dir) if paper is None else paper
    t = paper.get(PAPER_CPU)
    if t is None:
        raise Error(f'{paper_dir}: no {PAPER_CPU} table (reports/paper/cpu_i7_11700.yaml)')
    clock_key = t.extra.get('peak_clock', 'max_turbo_ghz')
    clock = _fact(t, clock_key)
    paths = []
    for p in t.extra.get('peak_paths') or []:
        lanes, units = int(_fact(t, p['lanes'])), int(_fact(t, p['units']))
        paths.append((lanes * units, p['isa'], lanes, units))
    if not paths:
        raise Error(f'{paper_dir}: {PAPER_CPU}: no peak_paths')
    macs, isa, lanes, units = max(paths, key=lambda x: x[0])
    gmacs = macs * clock
    described = tuple(f'{i}: {ln} fp32 lanes x {u} FMA unit{"s" if u > 1 else ""} = {m} MAC/cycle'
                      for m, i, ln, u in paths)
    derivation = (f'{"; ".join(described)}; best {macs} MAC/cycle x {clock:g} GHz ({t.row(clock_key)["fact"]}) '
                  f'= {gmacs:.1f} GMAC/s per core')
    name = t.caption.split('(')[0].replace("The paper's CPU,", '').strip()
    return CpuPeak(name=name, cores=int(_fact(t, 'cores')), clock_ghz=clock, clock=clock_key, macs_per_cycle=macs,
                   isa=isa, per_core_gmacs=gmacs, derivation=derivation, paths=described,
                   sources=dict(t.extra.get('sources') or {}), protocol=dict(t.extra.get('paper_protocol') or {}))


def implied_gmacs(gflops: float, ms: float) -> float:
    """The multiply-accumulate rate a latency implies: GFLOPs (= GMAC, the paper's convention) / seconds."""
    return float(gflops) / (float(ms) / 1e3)


@dataclass(frozen=True)
class ImpliedRate:
    """One paper CPU latency and the MAC rate it implies, judged against one core's fp32 peak."""
    table: str
    key: str
    label: str
    ms: float
    gflops: float | None         # None: the paper publishes no GFLOPs for this row
    peak: float                  # per-core fp32 peak of the paper CPU, GMAC/s
    cores: int                   # the paper CPU's cores
    model: str = ''

    @property
    def gmacs(self) -> float | None:
        return None if self.gflops is None else implied_gmacs(self.gflops, self.ms)

    @property
    def fraction(self) -> float | None:
        """The implied rate over one core's fp32 peak (> 1: not one core in fp32)."""
        return None if self.gmacs is None else self.gmacs / self.peak

    @property
    def one_core_plausible(self) -> bool | None:
        return None if self.gmacs is None else self.gmacs <= self.peak

    @property
    def min_cores(self) -> int | None:
        """Cores needed at their fp32 peak to reach the implied rate."""
        return None if self.gmacs is None else max(1, math.ceil(self.gmacs / self.peak - 1e-12))

    def verdict(self) -> str:
        if self.gmacs is None:
            return 'no GFLOPs published for this row: no implied rate'
        if self.one_core_plausible:
            return (f'plausible on one core: {self.gmacs:.1f} GMAC/s <= {self.peak:.1f} per-core fp32 peak '
                    f'({100 * self.fraction:.0f}%)')
        return (f'not possible on one core in fp32: {self.gmacs:.1f} GMAC/s = {self.fraction:.2f}x the '
                f'{self.peak:.1f} per-core fp32 peak; needs >= {self.min_cores} of the {self.cores} cores at peak, '
                'or a lower precision')


def paper_cpu_rates(paper: Mapping[str, PaperTable] | None = None, paper_dir: str | os.PathLike = PAPER_DIR,
                    cpu: CpuPeak | None = None) -> list[ImpliedRate]:
    """Every paper CPU latency (Table 11, Table 12 and the spec's ORT column) with its implied GMAC/s; the
    GFLOPs are the table's own (the spec's rows take them from the Table 11 / 12 row they name)."""
    paper = load_paper(paper_dir) if paper is None else paper
    cpu = paper_cpu(paper, paper_dir) if cpu is None else cpu
    out: list[ImpliedRate] = []

    def gflops_of(row: dict, cols: tuple[str, ...]) -> float | None:
        vals = [row.get(c) for c in cols]
        return None if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in vals) else \
            float(sum(vals))

    for tid, cols, ms_col in CPU_LATENCY_COLUMNS:
        t = paper.get(tid)
        for r in (t.rows if t else ()):
            if isinstance(r.get(ms_col), (int, float)):
                label = r.get('method', r['key']) + (f' ({r["dataset"]})' if r.get('dataset') else '')
                out.append(ImpliedRate(tid, r['key'], label, float(r[ms_col]), gflops_of(r, cols),
                                       cpu.per_core_gmacs, cpu.cores, r.get('model', '')))
    spec = paper.get('spec_latencies')
    if spec is not None:
        for r in [*spec.rows, *(spec.extra.get('pipeline') or [])]:
            if not isinstance(r.get(SPEC_CPU_COLUMN), (int, float)):
                continue
            g = None
            for tid, cols, _ in CPU_LATENCY_COLUMNS:
                if r.get(tid) and paper.get(tid) is not None:
                    try:
                        g = gflops_of(paper[tid].row(r[tid]), cols)
                    except KeyError:
                        raise Error(f'{paper_dir}: spec_latencies row {r["key"]}: no {tid} row {r[tid]!r}') from None
            out.append(ImpliedRate('spec_latencies', r['key'], r['key'], float(r[SPEC_CPU_COLUMN]), g,
                                   cpu.per_core_gmacs, cpu.cores, r.get('model', '')))
    return out


def paper_cpu_rate(table: str, key: str, paper: Mapping[str, PaperTable] | None = None,
                   paper_dir: str | os.PathLike = PAPER_DIR) -> ImpliedRate | None:
    return next((r for r in paper_cpu_rates(paper, paper_dir) if r.table == table and r.key == key), None)
