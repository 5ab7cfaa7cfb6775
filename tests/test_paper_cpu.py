"""The paper CPU's fp32 peak per core and the MAC rate every paper CPU latency implies: both computed from
reports/paper/ (the facts and the tables' own GFLOPs and ms), never typed in."""
import shutil
from pathlib import Path

import pytest
import yaml

from rtmpose.errors import Error
from rtmpose.paper import implied_gmacs, load_paper, paper_cpu, paper_cpu_rates

PAPER = Path(__file__).resolve().parents[1] / 'reports' / 'paper'


def _copy(tmp_path) -> Path:
    d = tmp_path / 'paper'
    shutil.copytree(PAPER, d)
    return d


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _set_row(data: dict, key: str, **values) -> None:
    next(r for r in data['rows'] if r['key'] == key).update(values)


def test_peak_per_core_is_derived_from_the_recorded_facts():
    cpu = paper_cpu(paper_dir=PAPER)
    # one 512-bit FMA unit (16 fp32 lanes) or two 256-bit ones (8 lanes each): 16 MAC per cycle either way
    assert cpu.macs_per_cycle == 16 and cpu.clock_ghz == 4.9 and cpu.cores == 8
    assert cpu.per_core_gmacs == pytest.approx(78.4) and cpu.all_cores_gmacs == pytest.approx(8 * 78.4)
    assert 'AVX-512: 16 fp32 lanes x 1 FMA unit' in cpu.derivation and 'AVX2: 8 fp32 lanes x 2 FMA units' in cpu.derivation
    assert 'ark.intel.com' in cpu.sources['ark'] and 'single 512-bit FMA unit' in cpu.sources['opt_manual']
    assert cpu.protocol['threads'] == 1 and cpu.protocol['table'] == 'table11'


def test_peak_follows_the_facts(tmp_path):
    d = _copy(tmp_path)
    # a server core with a second (port-5) 512-bit FMA unit would double it; the clock it is taken at is data too
    _edit(d / 'cpu_i7_11700.yaml', lambda data: (_set_row(data, 'avx512_fma_units', value=2),
                                                  data.update(peak_clock='base_ghz')))
    cpu = paper_cpu(paper_dir=d)
    assert cpu.macs_per_cycle == 32 and cpu.isa == 'AVX-512' and cpu.per_core_gmacs == pytest.approx(32 * 2.5)


def test_every_paper_cpu_latency_gets_its_implied_rate_and_verdict():
    rates = {(r.table, r.key): r for r in paper_cpu_rates(paper_dir=PAPER)}
    paper = load_paper(PAPER)
    for tid in ('table11', 'table12'):
        assert {k for t, k in rates if t == tid} == {r['key'] for r in paper[tid].rows}
    spec = paper['spec_latencies']
    assert {k for t, k in rates if t == 'spec_latencies'} == {r['key'] for r in [*spec.rows, *spec.extra['pipeline']]}
    t = rates[('table11', 'coco-rtmpose-t')]
    assert t.gmacs == pytest.approx(0.36 / 3.204e-3) and t.fraction == pytest.approx(0.36 / 3.204e-3 / 78.4)
    assert t.one_core_plausible is False and t.min_cores == 2 and 'not possible on one core in fp32' in t.verdict()
    for key, lo, hi in (('coco-rtmpose-s', 151, 152), ('coco-rtmpose-m', 174, 175), ('coco-rtmpose-l', 220, 221)):
        assert lo < rates[('table11', key)].gmacs < hi and not rates[('table11', key)].one_core_plausible
    tiny, lite = rates[('table11', 'coco-tinypose')], rates[('table11', 'coco-litehrnet-30')]
    assert tiny.one_core_plausible and lite.one_core_plausible and tiny.gmacs == pytest.approx(0.33 / 10.58e-3)
    assert 'plausible on one core' in tiny.verdict()
    # the pipeline: detector + pose GFLOPs over the pipeline's ms
    pipe = rates[('table12', 'rtmdet-nano+rtmpose-l')]
    assert pipe.gflops == pytest.approx(0.31 + 4.16) and not pipe.one_core_plausible
    # the spec's rows take their GFLOPs from the Table 11 row they name; one without any has no rate
    assert rates[('spec_latencies', 'tinypose-256x192')].gflops == 0.33
    none = rates[('spec_latencies', 'rtmpose-m-384x288')]
    assert none.gmacs is None and none.one_core_plausible is None and 'no GFLOPs' in none.verdict()


def test_rates_are_computed_from_the_table_not_typed_in(tmp_path):
    d = _copy(tmp_path)
    _edit(d / 'table11.yaml', lambda data: _set_row(data, 'coco-rtmpose-t', cpu_ms=10.0))
    t = next(r for r in paper_cpu_rates(paper_dir=d) if (r.table, r.key) == ('table11', 'coco-rtmpose-t'))
    assert t.gmacs == pytest.approx(implied_gmacs(0.36, 10.0)) == pytest.approx(36.0) and t.one_core_plausible


def test_a_spec_row_naming_a_missing_table_row_is_an_error(tmp_path):
    d = _copy(tmp_path)
    _edit(d / 'spec_latencies.yaml', lambda data: _set_row(data, 'rtmpose-t', table11='no-such-row'))
    with pytest.raises(Error, match="no table11 row 'no-such-row'"):
        paper_cpu_rates(paper_dir=d)
