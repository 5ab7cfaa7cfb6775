"""One builder per paper table: paper values from reports/paper/, measured values from the stage outputs."""
from __future__ import annotations

from pathlib import PurePosixPath

from rtmpose.reports.measured import Measurements, Provenance, Value
from rtmpose.paper import PaperTable
from rtmpose.reports.tables import Cell, Table, compare, label

# -- how each kind of cell would be measured --------------------------------------------------------
COCO_DETS = 'COCO_val2017_detections_AP_H_56_person.json'
DET_FILES = {'Faster-RCNN': COCO_DETS}        # the detector boxes the paper's COCO numbers use
NEEDS_COCO = 'needs COCO val2017 and the released checkpoint (not available offline)'
PHONE = 'a Snapdragon 865 phone with ncnn (4 threads, FP16)'


def cmd_eval(model: str, dataset: str = 'coco', boxes: str | None = None, checkpoint: str = 'CHECKPOINT.pth') -> str:
    data = f'datasets/{dataset}'
    c = (f'rtmpose prepare {dataset} --raw datasets/raw/{dataset} --out {data} && rtmpose eval --checkpoint {checkpoint} '
         f'--model {model} --dataset {dataset} --data-dir {data}')
    if boxes:
        c += f' --bbox-file {boxes}'
    return c + f' --out reports/eval/{model}_{dataset}.json'


def cmd_bench(model: str, backend: str, where: str = '', threads: str | int | None = None) -> str:
    threads = threads if threads is not None else 4 if where == PHONE else 1
    c = f'rtmpose bench --models {model} --backends {backend} --threads {threads} --out reports/bench'
    if not model.startswith('rtmpose'):
        c = f'rtmpose bench --models --peers {model} --peer-backends {backend} --threads {threads} --out reports/bench'
    if where == PHONE:
        c += ' --precisions fp16'
    return c + (f'   # on {where}' if where else '')


def cmd_pipeline(model: str, backend: str, where: str = '') -> str:
    c = (f'rtmpose bench --pipeline --random-weights --params params.yaml --set det_model=rtmdet-nano '
         f"--set 'bench_pose_models=[{model}]' --set backend={backend} --set threads={4 if where == PHONE else 1}")
    return c + (f'   # on {where}' if where else '')


def no_command(what: str) -> str:
    return f'(no command in this suite: {what})'


# -- helpers ---------------------------------------------------------------------------------------
def _labels(t: PaperTable, row: dict, keys: tuple[str, ...]) -> dict[str, Cell]:
    return {k: label(row.get(k, '')) for k in keys if k in dict(t.columns)}


def _new(t: PaperTable, extra_cols: list[tuple[str, str]] | None = None, notes: list[str] | None = None) -> Table:
    notes = list(notes or [])
    if t.stand_in:
        notes.insert(0, f'Stand-in: {t.stand_in}')
    if t.notes:
        notes.append(f'Paper notes: {t.notes}')
    return Table(t.id, t.caption, t.source, list(t.columns) + (extra_cols or []), notes=notes)


def _box_source_matches(e_boxes: str, detector: str) -> bool:
    b = e_boxes.lower()
    if detector in DET_FILES:
        return DET_FILES[detector].lower() in b or 'faster' in b
    return detector.lower().replace('-', '') in b.replace('-', '').replace('_', '')


def _eval_for(m: Measurements, model: str, dataset: str, metric: str, detector: str | None = None,
              train_data: str | None = None, num_keypoints: int | None = None) -> Value | None:
    hit = None
    for e in m.evals:
        if e['model'] != model or e['dataset'] != dataset:
            continue
        if num_keypoints is not None and e.get('num_keypoints') not in (None, num_keypoints):
            continue
        if detector is not None and not _box_source_matches(e['box_source'], detector):
            continue
        if train_data is not None and ('aic' in e['run'].lower()) != (train_data == 'aic'):
            continue
        v = m.eval_metric(model, dataset, metric, e['box_source'], num_keypoints)
        if v is not None:
            hit = v
    return hit


def _not_coco(e: Value | None, dataset: str) -> bool | str:
    return True if e is None or e.provenance.dataset == dataset else f'measured on {e.provenance.dataset}'


# -- tables ----------------------------------------------------------------------------------------
def table01(t: PaperTable, m: Measurements) -> Table:
    out = _new(t, notes=['Complexity is measured on the models defined in rtmpose.models.baselines; '
                         'see reports/fidelity.md for how they map to the official configs.'])
    for r in t.rows:
        key = r['key']
        row = {'method': label(r['method'])}
        row['repr_size'] = compare(m.baseline(key, 'repr_size'), r['repr_size'],
                                   'dvc repro complexity-tables')
        row['ap'] = Cell('not measured', paper=r['ap'], command=no_command(
            'training the ResNet-50 baselines for 210 epochs on COCO train2017 needs COCO and a GPU; the train '
            'command builds RTMPose models only'))
        for col, digits in (('total_gflops', 2), ('total_params_m', 2), ('head_gflops', 3), ('head_params_m', 3)):
            v = m.baseline(key, col)
            row[col] = compare(v, r[col], 'dvc repro complexity-tables', digits=digits)
        out.rows.append(row)
    return out


def _ablation_cell(m: Measurements, variant: str | None, paper, reason: str = '') -> Cell:
    if variant is None:
        return Cell('not measured', paper=paper, command=no_command(reason))
    v = m.ablation(variant)
    r = m.ablations.get(variant) or {}
    if r.get('status') == 'unsupported' or r.get('unsupported'):
        return Cell('not measured', paper=paper, command=no_command(r.get('reason') or r.get('unsupported')))
    if v is None:
        grid = r.get('grid', 'paper')
        cmd = f'dvc repro ablation@{variant}' if r.get('status') != 'skipped' else \
              f'set ablations.grid: {grid} in params.yaml, then dvc repro ablation@{variant}'
        return Cell('not measured', paper=paper, command=cmd)
    ds = v.provenance.dataset or 'synthetic'
    return compare(v, paper, '', comparable=True if ds == 'coco' else f'{ds} data, short schedule')


_SEED_COLS = [('ci', 'measured AP, mean [95% t-interval] over seeds'),
              ('vs_final', 'paired delta vs final recipe [95% t-interval]; n.s.: interval contains 0')]
_SEED_NOTE = ('Each variant trains once per seed of `ablations.seeds` (the same seeds for every variant); the '
              'interval is a Student-t interval over seeds, the delta the mean per-seed difference against the '
              'final recipe with its own t-interval ({}). A mean marked OUTSIDE lies outside the interval '
              'committed with this repository for the same settings and seeds (another machine or library '
              'version moved it).')


def _seed_cells(variants: dict[str, dict], name: str | None) -> dict[str, Cell]:
    from rtmpose.reports.ablations import delta_text, interval_text
    row = (variants.get(name) or {}).get('summary') if name else None
    ref = (variants.get(name) or {}).get('reference', 'final') if name else 'final'
    delta = 'reference' if name is not None and name == ref and row else delta_text(row)
    committed = (variants.get(name) or {}).get('committed') if name else None
    return {'ci': label(interval_text(row, committed)), 'vs_final': label(delta)}


def _summary_file(variants: dict[str, dict]) -> str:
    return next((v['summary']['_file'] for v in variants.values() if v.get('summary')),
                'reports/ablations/summary.csv (dvc repro ablation-summary)')


def table02(t: PaperTable, m: Measurements, variants: dict[str, dict]) -> Table:
    by_step = {v.get('roadmap'): name for name, v in variants.items() if v.get('roadmap')}
    out = _new(t, extra_cols=_SEED_COLS,
               notes=['Measured AP comes from the roadmap ablation grid (params.yaml `ablations`), '
                      'each variant trained with the short embedded schedule: compare the ordering of '
                      'steps, not the absolute AP.', _SEED_NOTE.format(_summary_file(variants))])
    for r in t.rows:
        row = {'step': label(r['step']), 'change': label(r['change']), 'line': label(r['line'])}
        row['ap'] = _ablation_cell(m, by_step.get(r['key']), r['ap'],
                                   'step not reproducible on the embedded data (needs COCO / AIC / released weights)')
        row.update(_seed_cells(variants, by_step.get(r['key'])))
        out.rows.append(row)
    return out


def table03(t: PaperTable, m: Measurements, variants: dict[str, dict]) -> Table:
    by_key = {}
    for name, v in variants.items():
        keys = v.get('table03') or []
        for k in [keys] if isinstance(keys, str) else keys:
            by_key[k] = name
    out = _new(t, extra_cols=_SEED_COLS,
               notes=['Measured AP from the ablation grid on the embedded data set (short schedule).',
                      _SEED_NOTE.format(_summary_file(variants))])
    for r in t.rows:
        row = {'ablation': label(r['ablation']), 'setting': label(r['setting'])}
        row['ap'] = _ablation_cell(m, by_key.get(r['key']), r['ap'], 'no variant declared')
        row.update(_seed_cells(variants, by_key.get(r['key'])))
        out.rows.append(row)
    paper_keys = {r['key'] for r in t.rows}
    for key, name in sorted(by_key.items()):  # the suite's extra single-factor ablations (no paper value)
        if key not in paper_keys:
            desc = variants[name].get('description') or name
            row = {'ablation': label('suite extra'), 'setting': label(desc),
                   'ap': _ablation_cell(m, name, None, '')}
            row.update(_seed_cells(variants, name))
            out.rows.append(row)
    return out


def table04(t: PaperTable, m: Measurements) -> Table:
    out = _new(t)
    for r in t.rows:
        row = _labels(t, r, ('group', 'method', 'backbone', 'detector', 'extra_data'))
        model = r.get('model')
        if model:
            row['gflops'] = compare(m.model_complexity(model, 'gflops'), r['gflops'], 'dvc repro complexity', digits=2)
            train = 'aic' if 'AIC' in str(r['extra_data']) else 'coco'
            e = _eval_for(m, model, 'coco', 'AP', r['detector'], train)
            boxes = DET_FILES.get(r['detector'], f'{r["detector"].upper()}_BOXES.json')
            row['ap'] = compare(e, r['ap'], cmd_eval(model, 'coco', boxes), comparable=_not_coco(e, 'coco'))
        elif r.get('complexity_model'):   # the architecture is here (GFLOPs, latency), its trained weights are not
            row['gflops'] = compare(m.model_complexity(r['complexity_model'], 'gflops'), r['gflops'],
                                    'dvc repro complexity-tables', digits=2)
            why = (f'{r["group"]} {r["method"]}: the architecture is here ({r["complexity_model"]}), its trained '
                   'weights and their evaluation are not')
            row['ap'] = Cell('not measured', paper=r['ap'], command=no_command(why))
        else:
            why = f'{r["group"]} {r["method"]} is not implemented here'
            row['gflops'] = Cell('not measured', paper=r['gflops'], command=no_command(why), digits=2)
            row['ap'] = Cell('not measured', paper=r['ap'], command=no_command(why))
        out.rows.append(row)
    return out


def table05(t: PaperTable, m: Measurements) -> Table:
    out = _new(t)
    for r in t.rows:
        row = _labels(t, r, ('group', 'method', 'backbone', 'detector', 'extra_data'))
        model = r.get('model')
        if model:
            v = m.model_complexity(model, 'gflops')
            det = m.model_complexity('rtmdet-nano', 'gflops')
            if v is not None and det is not None:
                v = Value(v.value + det.value, Provenance(f'{v.provenance.source} + {det.provenance.source}',
                                                          model=f'rtmdet-nano 320x320 + {model} 256x192',
                                                          backend=v.provenance.backend, machine='any'))
                row['gflops'] = compare(v, r['gflops'], 'dvc repro complexity', digits=2)
            else:
                row['gflops'] = compare(v, r['gflops'], 'dvc repro complexity', digits=2,
                                        comparable='pose model only; the paper adds the detector')
            e = _eval_for(m, model, 'coco-singleperson', 'AP', 'RTMDet-nano')
            row['ap'] = compare(e, r['ap'], cmd_eval(model, 'coco-singleperson', 'RTMDET_NANO_BOXES.json') +
                                '   # the 1045-image list is the paper authors\' own', comparable=_not_coco(e, 'coco-singleperson'))
        else:
            why = f'{r["method"]} accuracy on COCO-SinglePerson needs COCO val2017'
            row['gflops'] = Cell('not measured', paper=r['gflops'], command=no_command(why), digits=2)
            row['ap'] = Cell('not measured', paper=r['ap'], command=no_command(why))
        out.rows.append(row)
    return out


WHOLEBODY_METRICS = ('wb_ap', 'wb_ar', 'body_ap', 'body_ar', 'foot_ap', 'foot_ar', 'face_ap', 'face_ar', 'hand_ap', 'hand_ar')


def table06(t: PaperTable, m: Measurements) -> Table:
    out = _new(t)
    for r in t.rows:
        row = _labels(t, r, ('method', 'input_size'))
        model = r.get('model')
        if model:
            cid = f'{model}@133'
            row['gflops'] = compare(m.model_complexity(cid, 'gflops'), r['gflops'], 'dvc repro complexity-tables')
            for k in WHOLEBODY_METRICS:
                e = _eval_for(m, model, 'coco-wholebody', k, num_keypoints=133)
                row[k] = compare(e, r[k], cmd_eval(model, 'coco-wholebody', COCO_DETS, checkpoint='WHOLEBODY_CHECKPOINT.pth'),
                                 comparable=_not_coco(e, 'coco-wholebody'))
        else:
            why = f'{r["method"]} is not implemented here'
            row['gflops'] = Cell('not measured', paper=r['gflops'], command=no_command(why))
            for k in WHOLEBODY_METRICS:
                row[k] = Cell('not measured', paper=r[k], command=no_command(why))
        out.rows.append(row)
    return out


def _recipe(m: Measurements) -> tuple[dict, dict, Provenance]:
    """The resolved training settings: a real run's config.json, else the package defaults (labelled)."""
    # ablation runs use the CPU-sized schedule: they are not the recipe of Table 7
    runs = sorted((k, r) for k, r in m.runs.items() if not k.startswith('ablation-'))
    hit = next(((k, r) for k, r in runs if r['config'].get('model') == 'rtmpose-m'), runs[0] if runs else None)
    if hit is not None:
        name, r = hit
        cfg = r['config']
        return cfg, r.get('derived', {}), Provenance(r['_file'], run=name, model=cfg.get('model', ''),
                                                     dataset=cfg.get('dataset', ''), machine=r.get('derived', {}).get('device', ''))
    import dataclasses

    from rtmpose.train.config import TrainConfig
    cfg = dataclasses.asdict(TrainConfig())
    return cfg, {}, Provenance('rtmpose.train.config.TrainConfig defaults (no training run recorded yet)',
                               model=cfg['model'], dataset=cfg['dataset'])


def _setting_delta(key: str, cfg: dict, derived: dict) -> str:
    """Compare a setting with the paper's value for this model size (the paper's cells are per size)."""
    size = str(cfg.get('model', '')).replace('rtmpose-', '')[:1]
    if key == 'weight_decay':
        want = 0.0 if size in ('t', 's') else 0.05
        return 'same' if cfg.get('weight_decay') == want else f'differs (paper {want} for RTMPose-{size})'
    if key == 'ema':
        want = size != 't'
        return 'same' if bool(cfg.get('ema')) == want else f'differs (paper: {"EMA" if want else "no EMA"} for RTMPose-{size})'
    if key == 'epochs':
        return 'same (fine-tune)' if cfg.get('epochs') == 420 else f"differs ({cfg.get('epochs')} vs 420 fine-tune)"
    if key == 'batch_size':
        total = derived.get('total_batch')
        if total:
            return 'same' if total == 1024 else f'differs (total {total} vs 1024)'
        return 'same per GPU (256 x 8 GPUs = 1024)' if cfg.get('batch_size') == 256 else 'differs'
    return ''


def table07(t: PaperTable, m: Measurements) -> Table:
    out = _new(t, notes=['Measured = the resolved training configuration of a run (or the package defaults, '
                         'labelled); batch size is per process x processes.'])
    try:
        cfg, derived, prov = _recipe(m)
    except ImportError:
        cfg, derived, prov = None, {}, None
    for r in t.rows:
        row = {'setting': label(r['setting'])}
        if cfg is None:
            row['value'] = Cell('not measured', paper=r['value'], command='rtmpose train --config experiments/<name>.yaml')
            out.rows.append(row)
            continue
        k = r['key']
        size = str(cfg.get('model', ''))
        val = {
            'optimizer': 'AdamW',
            'base_lr': cfg.get('base_lr'),
            'lr_schedule': 'Flat-Cosine' if cfg.get('cosine_begin_epoch') in (None, cfg.get('epochs', 0) // 2)
            else f"Cosine from epoch {cfg.get('cosine_begin_epoch')}",
            'batch_size': derived.get('total_batch') or f"{cfg.get('batch_size')} per process",
            'warmup_iters': cfg.get('warmup_iters'),
            'weight_decay': f"{cfg.get('weight_decay')} ({size})",
            'ema': f"{1 - cfg['ema_momentum']:.4f} ({size})" if cfg.get('ema') else f'no EMA ({size})',
            'epochs': cfg.get('epochs'),
        }[k]
        cell = compare(Value(val, prov), r['value'], '', digits=4,
                       note='optimizer fixed in rtmpose.train.optim' if k == 'optimizer' else '')
        cell.delta = _setting_delta(k, cfg, derived) or cell.delta
        row['value'] = cell
        out.rows.append(row)
    return out


def table08(t: PaperTable, m: Measurements) -> Table:
    out = _new(t)
    for r in t.rows:
        row = _labels(t, r, ('dataset', 'method', 'backbone'))
        model = r.get('model')
        ds = {'AP-10K': 'ap10k', 'CrowdPose': 'crowdpose'}[r['dataset']]
        if model:
            cid = 'rtmpose-m@256x256' if ds == 'ap10k' else 'rtmpose-m@14'
            row['gflops'] = compare(m.model_complexity(cid, 'gflops'), r['gflops'], 'dvc repro complexity-tables', digits=2)
            e = _eval_for(m, model, ds, 'AP', train_data='aic' if r['method'].endswith('*') else 'coco')
            row['ap'] = compare(e, r['ap'], cmd_eval(model, ds), comparable=_not_coco(e, ds))
        else:
            why = f'{r["method"]} on {r["dataset"]} is not implemented here'
            row['gflops'] = Cell('not measured', paper=r['gflops'], command=no_command(why), digits=2)
            row['ap'] = Cell('not measured', paper=r['ap'], command=no_command(why))
        out.rows.append(row)
    return out


def table09(t: PaperTable, m: Measurements) -> Table:
    out = _new(t, notes=['The paper column holds the official model-zoo value from the spec, not a paper number.'])
    for r in t.rows:
        row = _labels(t, r, ('dataset', 'method', 'input_size'))
        e = _eval_for(m, r['model'], 'mpii', 'PCKh')
        row['pckh'] = compare(e, r['pckh'], cmd_eval(r['model'], 'mpii'), comparable=_not_coco(e, 'mpii'))
        out.rows.append(row)
    return out




def table10(t: PaperTable, m: Measurements) -> Table:
    out = _new(t, extra_cols=[('proxy_ncnn_cpu_ms', 'proxy: ncnn on this CPU (ms)'),
                              ('proxy_pipeline_cpu_ms', 'proxy: pipeline ncnn on this CPU (ms)')],
               notes=['The paper measured on a Snapdragon 865 phone, which this suite cannot reach: those cells are '
                      'not measured. The proxy columns are ncnn on this machine\'s CPU, the nearest measurement '
                      'the suite makes; they are not comparable to the phone.'])
    for r in t.rows:
        model = r['model']
        row = _labels(t, r, ('method', 'input_size'))
        row['ap'] = compare(_eval_for(m, model, 'coco', 'AP', 'Faster-RCNN', 'aic'), r['ap'], cmd_eval(model, 'coco', COCO_DETS))
        row['ncnn_ms'] = Cell('not measured', paper=r['ncnn_ms'], digits=2, command=cmd_bench(model, 'ncnn', PHONE))
        row['pipeline_ms'] = Cell('not measured', paper=r['pipeline_ms'], digits=2, command=cmd_pipeline(model, 'ncnn', PHONE))
        # proxies carry no paper value: the phone's numbers stay in their own columns
        row['proxy_ncnn_cpu_ms'] = compare(m.latency_ms(model, 'ncnn', precision='fp16'), None, cmd_bench(model, 'ncnn'), digits=2,
                                           note='proxy on this CPU, not comparable with the phone')
        row['proxy_pipeline_cpu_ms'] = compare(m.latency_ms(model, 'ncnn', span='', table='pipeline'), None,
                                               cmd_pipeline(model, 'ncnn'), digits=2,
                                               note='proxy on this CPU, not comparable with the phone')
        out.rows.append(row)
    return out


# peers the speed harness times (rtmpose.harness.bench BenchConfig.peers), 17-keypoint versions only, at the
# sizes of the paper's Table 11 rows (TinyPose: 256x192, 0.33 GFLOPs; 128x96 is Table 4's 0.08 GFLOPs row)
PEERS = {'TinyPose': 'tinypose-256x192', 'LiteHRNet-30': 'litehrnet-30', 'HRNet-w32+UDP': 'hrnet-w32'}
GPU = 'a CUDA GPU with TensorRT (paper: GTX 1660 Ti, FP16)'
# the like-for-like CPU protocol: one interleaved run at 1 thread and at every core (params.yaml bench.threads)
CMD_BENCH_ALL = 'rtmpose bench --params params.yaml --threads 1 all'
T11_REF = 'coco-rtmpose-t'           # Table 11's row the latency ratios are taken to
# what `rtmpose bench --params params.yaml` times (params.yaml bench.models and bench.peers)
BENCH_DEFAULT = ('rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l', 'tinypose-128x96', 'tinypose-256x192',
                 'litehrnet-30')


def cmd_bench_all(model: str) -> str:
    """The command that times `model` at 1 thread and on all cores in one run."""
    return CMD_BENCH_ALL if model in BENCH_DEFAULT else cmd_bench(model, 'onnxruntime', threads='1 all')


def _paper_cpu(paper: dict[str, PaperTable] | None):
    """(CpuPeak, {(table, key): ImpliedRate}) of the paper's CPU latencies, or (None, {}) without its facts."""
    from rtmpose.errors import Error
    from rtmpose.paper import load_paper, paper_cpu, paper_cpu_rates
    try:
        paper = load_paper() if paper is None else paper
        cpu = paper_cpu(paper)
        return cpu, {(r.table, r.key): r for r in paper_cpu_rates(paper, cpu=cpu)}
    except Error:
        return None, {}


def rate_text(rate) -> str:
    """A paper latency's implied rate, as a table cell: 'GMAC/s (% of one core's fp32 peak): verdict'."""
    if rate is None or rate.gmacs is None:
        return 'no GFLOPs published' if rate is not None else 'not derivable (no reports/paper/cpu_i7_11700.yaml)'
    verdict = 'plausible on 1 core' if rate.one_core_plausible else \
        f'not 1 core in fp32 (>= {rate.min_cores} cores at peak)'
    return f'{rate.gmacs:.1f} ({100 * rate.fraction:.0f}% of 1-core peak): {verdict}'


def _machine_text(m: Measurements, r: dict | None = None) -> str:
    cores = (r or {}).get('cores') or m.machine_cores
    return f'this CPU ({m.machine or "see machine"}{f", {cores} cores" if cores else ""})'


def per_core_cell(m: Measurements, model: str, threads: str, command: str) -> Cell:
    """Our GMAC/s per core and its % of this machine's per-core peak (1-thread or all-cores row)."""
    r = m.timing(model, 'onnxruntime', precision='fp32', threads=threads) if model else None
    if r is None or r.get('gmacs_per_core') is None:
        return Cell('not measured', command=command)
    pct = r.get('fraction_of_peak')
    peak = r.get('peak_gmacs_per_core')
    text = f"{r['gmacs_per_core']:.1f}" + (f' ({100 * pct:.0f}% of {peak:.1f})' if pct is not None and peak else '')
    return Cell('measured', measured=text, provenance=m.provenance(r))


def ratio_cell(m: Measurements, model: str, ref_model: str, threads: str, paper_ratio, command: str,
               comparable: bool | str = True) -> Cell:
    """Latency of `model` over `ref_model`'s, ours under one protocol (`threads`: '1' or 'all'), beside the
    paper's own ratio; the delta is ours / paper."""
    a = m.timing(model, 'onnxruntime', precision='fp32', threads=threads) if model else None
    b = m.timing(ref_model, 'onnxruntime', precision='fp32', threads=threads)
    if a is None or b is None:
        return Cell('not measured', paper=paper_ratio, command=command, digits=2)
    p = m.provenance(a)
    prov = Provenance(f"{p.source} / line {b['_line']}", run=p.run, model=f'{model} / {ref_model}', dataset=p.dataset,
                      backend=p.backend, machine=p.machine)
    return compare(Value(a['mean'] / b['mean'], prov), paper_ratio, command, digits=2, ratio=True,
                   comparable=comparable)


def table11(t: PaperTable, m: Measurements, paper: dict[str, PaperTable] | None = None) -> Table:
    cpu, rates = _paper_cpu(paper)
    peak = f'{cpu.per_core_gmacs:.1f}' if cpu else '?'
    cols = []
    for key, lbl in t.columns:
        if key == 'cpu_ms':
            cols += [('cpu_ms', 'CPU ms: ours on all cores vs paper (i7-11700)'),
                     ('cpu_1t_ms', 'CPU ms: ours on 1 thread (the paper\'s stated protocol; no paper value beside it)'),
                     ('paper_rate', f'paper: implied GMAC/s vs one i7-11700 core\'s fp32 peak ({peak})'),
                     ('core_1t', 'ours: GMAC/s per core, 1 thread (% of this machine\'s per-core peak)'),
                     ('core_all', 'ours: GMAC/s per core, all cores (% of per-core peak)'),
                     ('vs_t_1t', 'latency / RTMPose-t\'s: ours 1 thread vs paper'),
                     ('vs_t_all', 'latency / RTMPose-t\'s: ours all cores vs paper')]
        else:
            cols.append((key, lbl))
    mine = [x for x in rates.values() if x.table == t.id and x.gmacs is not None]
    above = ', '.join(dict.fromkeys(x.label.split(' (')[0] for x in mine if not x.one_core_plausible)) or 'none'
    within = ', '.join(dict.fromkeys(x.label.split(' (')[0] for x in mine if x.one_core_plausible)) or 'none'
    notes = ['CPU protocol: ONNX Runtime fp32, batch 1, 50 warm-up + 200 timed runs, at 1 thread and at every core '
             'of this machine in one interleaved run (`bench.threads: [1, all]`).',
             f'The paper states 1 thread, but its latencies of {above} imply more multiply-accumulates per '
             f'second than one i7-11700 core can do in fp32 ({cpu.derivation if cpu else "facts missing"}); '
             f'{within}: within it. So the paper\'s figure stands beside our ALL-CORES figure '
             '(still another machine: the ratio is marked n/c), our 1-thread figure has no paper value beside it, '
             'and the paper\'s implied rate is set beside our rate per core. A rate below one core\'s peak is '
             'consistent with one core but does not prove it.',
             'Latency ratios to RTMPose-t: ours from one run under one protocol; the paper\'s from its own table, '
             'marked n/c where its two figures cannot both be the same protocol (one within one core\'s peak, the '
             'other above it).']
    out = _new(t, notes=notes)
    out.columns = cols
    ref = next((r for r in t.rows if r['key'] == T11_REF), None)
    ref_rate = rates.get((t.id, T11_REF))
    for r in t.rows:
        row = _labels(t, r, ('dataset', 'method'))
        model = r.get('model') or PEERS.get(r['method'])
        ds = 'coco' if r['dataset'] == 'COCO' else 'coco-wholebody'
        if model:
            g = m.model_complexity(model, 'gflops') or m.bench_gflops(model)
            row['gflops'] = compare(g, r['gflops'], 'dvc repro complexity complexity-tables' if r.get('model')
                                    else cmd_bench(model, 'onnxruntime'), digits=2)
        else:
            row['gflops'] = Cell('not measured', paper=r['gflops'], digits=2,
                                  command=no_command(f'{r["method"]} (133 keypoints) is not among the harness peers'))
        base = (model or '').split('@')[0]
        e = _eval_for(m, base, ds, 'AP', 'Faster-RCNN') if r.get('model') else None
        row['ap'] = compare(e, r['ap'], cmd_eval(base or r['method'], ds, COCO_DETS) if r.get('model')
                            else no_command(f'{r["method"]} accuracy needs its released weights and COCO'),
                            comparable=_not_coco(e, ds))
        absent = no_command(f'{r["method"]} (133 keypoints) is not among the harness peers')
        all_cmd = cmd_bench_all(model) if model else absent
        ours_all = m.timing(model, 'onnxruntime', precision='fp32', threads='all') if model else None
        row['cpu_ms'] = compare(None if ours_all is None else Value(ours_all['mean'], m.provenance(ours_all)),
                                r['cpu_ms'], all_cmd, digits=3, ratio=True,
                                comparable=f'{_machine_text(m, ours_all)} vs the paper\'s 8-core i7-11700')
        row['cpu_1t_ms'] = compare(m.latency_ms(model, 'onnxruntime', precision='fp32', threads='1') if model else None,
                                   None, cmd_bench(model, 'onnxruntime') if model else absent, digits=3)
        rate = rates.get((t.id, r['key']))
        row['paper_rate'] = label(rate_text(rate))
        row['core_1t'] = per_core_cell(m, model, '1', cmd_bench(model, 'onnxruntime') if model else absent)
        row['core_all'] = per_core_cell(m, model, 'all', all_cmd)
        if r['key'] == T11_REF:
            row['vs_t_1t'] = row['vs_t_all'] = label('reference')
        elif ref is not None and r['dataset'] == 'COCO':
            paper_ratio = round(r['cpu_ms'] / ref['cpu_ms'], 2)
            same = rate is None or ref_rate is None or rate.one_core_plausible == ref_rate.one_core_plausible
            why = True if same else (f'the paper\'s {r["method"]} figure is within one core\'s fp32 peak, its '
                                     f'RTMPose-t figure is not: two protocols' if rate.one_core_plausible else
                                     f'the paper\'s RTMPose-t figure is within one core\'s fp32 peak, its '
                                     f'{r["method"]} figure is not: two protocols')
            row['vs_t_1t'] = ratio_cell(m, model, 'rtmpose-t', '1', paper_ratio,
                                        cmd_bench(model, 'onnxruntime') if model else absent, why)
            row['vs_t_all'] = ratio_cell(m, model, 'rtmpose-t', 'all', paper_ratio, all_cmd, why)
        else:
            row['vs_t_1t'] = row['vs_t_all'] = label('')
        row['gpu_ms'] = Cell('not measured', paper=r['gpu_ms'], digits=3,
                             command=cmd_bench(model, 'tensorrt', GPU) if model else no_command(f'{r["method"]} is not a harness peer'))
        out.rows.append(row)
    return out


# -- Table 12's pipeline: what the timed frame held, and the pipeline's accuracy ------------------------------
PIPELINE_ACCURACY_CMD = 'dvc repro pipeline_accuracy'   # its command: rtmpose pipeline-accuracy with the checkpoints
TRAIN_MODEL = 'rtmpose-t'   # params.yaml train.model: the pose model `rtmpose pipeline-accuracy` scores by default
# the paper's gap: 75.8 is the model-zoo AP (flip test) on the boxes of a 56.4-AP human detector, not ground truth
PAPER_BOXES_NOTE = ('the paper\'s reference AP (RTMPose-m 75.8, Sec. 1 "with flipping"; Table 10 / the spec for the '
                    'other sizes) is scored on the boxes of a 56.4-AP human detector (mmpose\'s model zoo: "Results on '
                    'COCO val2017 with detector having human AP of 56.4"; the spec\'s '
                    f'{COCO_DETS}), not on ground-truth boxes, so its gap to RTMDet-nano (75.8 -> 73.2, -2.6) is '
                    'between two detectors (and may include flip test); Table 4 prints the same-protocol pair '
                    '75.3 (Faster-RCNN boxes) -> 73.2 (RTMDet-nano boxes), -2.1. Ours is ground truth vs the detector.')


def detector_weights(weights: str) -> tuple[str, str]:
    """(detector, pose) weights of a pipeline.csv `weights` value, e.g. 'detector trained, pose random'; rows
    written before the detector was trained say one word for both ('random')."""
    parts = dict(p.strip().split(' ', 1) for p in weights.split(',') if ' ' in p.strip())
    if not parts:
        return weights.strip(), weights.strip()
    return parts.get('detector', 'not recorded'), parts.get('pose', 'not recorded')


def timed_with(r: dict | None) -> str:
    """A pipeline timing row's frame and weights: how many people the detector found (or the boxes that stood
    in) and whether the detector's weights were trained or random."""
    if r is None:
        return ''
    n = r.get('people')
    people = 'people not recorded' if n is None else f'{n:g} {"person" if n == 1 else "people"}'
    boxes = r.get('boxes', '')
    found = (f'{people} found by the detector per frame' if boxes == 'detector' else
             f'{people} on ground-truth boxes (the detector found none)' if boxes.startswith('ground') else
             f'{people}, boxes {boxes or "not recorded"}')
    det, pose = detector_weights(r.get('weights', ''))
    return f'{found}; detector {det or "weights not recorded"}, pose {pose or "weights not recorded"}'


def _pipeline_pose_model(m: Measurements) -> str:
    """The pose model of reports/pipeline/accuracy.json: its `pose_model`, else the run config beside its
    checkpoint (or the train run's), else the `train` stage's model."""
    acc = m.pipeline_accuracy
    if acc.get('pose_model'):
        return str(acc['pose_model'])
    run = PurePosixPath(str(acc.get('pose_checkpoint', ''))).parent.name
    cfg = (m.runs.get(run) or m.runs.get(m.config.train_run or '') or {}).get('config') or {}
    return str(cfg.get('model') or TRAIN_MODEL)


def _ap_text(v: float, lo=None, hi=None, scale: float = 100.0, sign: str = '') -> str:
    """'62.4 [60.0, 65.0]' (x scale), or without the interval when it is missing."""
    lo, hi = _f(lo), _f(hi)
    ci = f' [{lo * scale:{sign}.1f}, {hi * scale:{sign}.1f}]' if lo is not None and hi is not None else ''
    return f'{v * scale:{sign}.1f}{ci}'


def pipeline_accuracy_cells(m: Measurements, model: str, paper_ref, paper_det) -> dict[str, Cell]:
    """Pose AP with reference (ground-truth) boxes, with the detector's boxes and their paired difference [95%
    interval] on the row of the pose model accuracy.json measured; the paper's values beside them."""
    paper_delta = round(paper_det - paper_ref, 1) if _f(paper_ref) is not None and _f(paper_det) is not None else None
    papers = {'acc_ref': paper_ref, 'acc_det': paper_det, 'acc_delta': paper_delta}
    acc, measured = m.pipeline_accuracy, _pipeline_pose_model(m)
    if not acc or model != measured:
        cmd = PIPELINE_ACCURACY_CMD if model == measured else \
            f'rtmpose train --params params.yaml --set model={model} && {PIPELINE_ACCURACY_CMD}'
        return {k: Cell('not measured', paper=p, command=cmd) for k, p in papers.items()}
    ref, det, d = acc['gt_boxes'], acc['detector_boxes'], acc['delta_AP']
    scale = 100.0 if float(ref['AP']) <= 1.0 else 1.0
    detector = acc.get('detector', 'the detector')
    why = (f'measured on the embedded synthetic set ({measured} trained on it, {detector} pre-trained on the '
           'synthetic pre-training set), not COCO val')

    def prov(boxes: str) -> Provenance:
        return Provenance(m.source('pipeline_accuracy'), run=str(acc.get('pose_checkpoint', '')),
                          model=f'{detector} + {measured}', dataset=str(acc.get('data', 'synthetic')), box_source=boxes)
    ci = d.get('ci95') or [None, None]
    det_boxes = f'{detector} ({acc.get("detector_checkpoint", "weights not recorded")})'
    values = {
        'acc_ref': (_ap_text(float(ref['AP']), *(ref.get('AP_ci') or [None, None]), scale=scale), 'ground truth', ''),
        'acc_det': (_ap_text(float(det['AP']), *(det.get('AP_ci') or [None, None]), scale=scale), det_boxes, ''),
        'acc_delta': (_ap_text(float(d['value']), *ci, scale=scale, sign='+'), f'{det_boxes} - ground truth',
                      f'paired bootstrap over images, {d.get("paired_bootstrap", "?")} resamples, seed {d.get("seed", "?")}'),
    }
    return {k: compare(Value(text, prov(boxes)), papers[k], '', comparable=why, note=note)
            for k, (text, boxes, note) in values.items()}


def pipeline_accuracy_notes(m: Measurements) -> list[str]:
    acc = m.pipeline_accuracy
    head = ('Pipeline accuracy (last three columns): the same pose checkpoint scored on the same val images with '
            'ground-truth boxes and with the detector\'s boxes, the difference paired over images with a 95% '
            f'bootstrap interval ({m.source("pipeline_accuracy")}, `{PIPELINE_ACCURACY_CMD}`, DVC stage '
            'pipeline_accuracy). The paper reports COCO val AP with RTMDet-nano boxes here (Pipeline AP) and in '
            'Table 4; the comparison sits beside the pipeline it belongs to. ')
    if not acc:
        head += 'Not measured yet.'
    else:
        b = acc.get('box_AP') if isinstance(acc.get('box_AP'), dict) else {}
        box = (f' The detector\'s box AP there: {_ap_text(float(b["AP"]), b.get("AP_ci_low"), b.get("AP_ci_high"))}'
               f' on {b.get("images", "?")} images.' if _f(b.get('AP')) is not None else '')
        head += (f'Measured on the embedded synthetic set ({_pipeline_pose_model(m)} trained on it, '
                 f'{acc.get("detector", "the detector")} pre-trained on the synthetic pre-training set; '
                 f'{acc.get("data", "synthetic val")}), not COCO: every delta against the paper is n/c.{box}')
    return [head, 'Paper values beside ours: detector boxes = this table\'s Pipeline AP; for the reference boxes, '
            + PAPER_BOXES_NOTE]


def skip_frame_notes(m: Measurements) -> list[str]:
    """One line per detection interval K of reports/pipeline/skip_frame.csv (none without the file)."""
    if not m.skip_frame:
        return []
    ref = f'{float(m.skip_frame[0]["det_interval"]):g}'        # the file's first row is the reference
    rows = sorted(m.skip_frame, key=lambda r: float(r['det_interval']))
    scale = 100.0 if (_f(rows[0].get('pose_AP')) or 0.0) <= 1.0 else 1.0
    out = [f'Skip-frame detection on the synthetic video ({m.source("pipeline_skip_frame")}, DVC stage skip_frame): '
           'the detector runs every K-th frame, each person is cropped with the box of its last pose in between; '
           f'pose AP [95% interval over frames], delta AP paired against K={ref}, mean ms per frame [95% interval].']
    for r in rows:
        ap, d, ms = _f(r.get('pose_AP')), _f(r.get('delta_AP')), _f(r.get('ms_mean'))
        parts = [f'K={float(r["det_interval"]):g}: pose AP '
                 + (_ap_text(ap, r.get('pose_AP_ci_lo'), r.get('pose_AP_ci_hi'), scale) if ap is not None else '–')]
        if d is not None:
            parts.append('delta AP ' + _ap_text(d, r.get('delta_ci_lo'), r.get('delta_ci_hi'), scale, '+'))
        if ms is not None:
            lo, hi = _f(r.get('ms_ci_lo')), _f(r.get('ms_ci_hi'))
            parts.append(f'{ms:.2f} ms/frame' + (f' [{lo:.2f}, {hi:.2f}]' if lo is not None and hi is not None else ''))
        mota = _f(r.get('mota'))
        if mota is not None and r.get('mota_box') is not None:      # files with mota_box match poses by OKS
            parts.append(f'MOTA {mota:.3f} (poses at OKS 0.5), {r.get("id_switches", "?")} identity switches')
        if r.get('detector_runs') and r.get('frames'):
            parts.append(f'detector on {r["detector_runs"]} of {r["frames"]} frames')
        out.append('; '.join(parts))
    return out


def table12(t: PaperTable, m: Measurements, paper: dict[str, PaperTable] | None = None) -> Table:
    _, rates = _paper_cpu(paper)
    cols = []
    for key, lbl in t.columns:
        cols.append((key, lbl))
        if key == 'cpu_ms':
            cols.append(('paper_rate', 'paper CPU: implied GMAC/s (detector + pose GFLOPs / ms) vs one core\'s peak'))
            cols.append(('timed_with', 'our CPU run: people the detector found in the timed frame; weights'))
    cols += [('acc_ref', 'pose AP, reference boxes [95% CI]: ours ground truth (synthetic val) | paper: '
                         'model-zoo AP (56.4-AP detector boxes, COCO val)'),
             ('acc_det', 'pose AP, RTMDet-nano boxes [95% CI]: ours (synthetic val) | paper: Pipeline AP'),
             ('acc_delta', 'detector - reference boxes, AP [95% paired CI]')]
    out = _new(t, notes=['Pipeline = RTMDet-nano (320x320) + RTMPose (256x192) on one image, timed end to end.',
                         'CPU: our pipeline runs at `pipeline.threads` (1). Where the paper\'s figure implies more '
                         'multiply-accumulates per second than one i7-11700 core can do in fp32 (pre- and '
                         'post-processing only add time, so the bound holds a fortiori), it is not the 1-thread run '
                         'it would be set against: no ratio is given there.',
                         'The timed frame is a data-set-style synthetic frame; `our CPU run` says how many people '
                         'the detector found in it and whether the detector\'s weights were trained or random '
                         '(older results: random, and where that detector found nobody the pose stage ran on the '
                         'frame\'s ground-truth boxes, as the column says).']
               + pipeline_accuracy_notes(m) + skip_frame_notes(m))
    out.columns = cols
    ref_ap = _paper_pose_ap(paper)
    for r in t.rows:
        model = r['model']
        row = _labels(t, r, ('method',))
        row['det_gflops'] = compare(m.model_complexity('rtmdet-nano', 'gflops'), r['det_gflops'], 'dvc repro complexity-tables',
                                    digits=2)
        row['pose_gflops'] = compare(m.model_complexity(model, 'gflops'), r['pose_gflops'], 'dvc repro complexity', digits=2)
        e = _eval_for(m, model, 'coco', 'AP', 'RTMDet-nano')
        row['ap'] = compare(e, r['ap'], cmd_eval(model, 'coco', 'RTMDET_NANO_BOXES.json'), comparable=_not_coco(e, 'coco'))
        rate = rates.get((t.id, r['key']))
        one_core = rate is None or rate.one_core_plausible is not False
        timing = m.timing(model, 'onnxruntime', span='', table='pipeline')
        ours = None if timing is None else Value(timing['mean'], m.provenance(timing))
        row['cpu_ms'] = compare(ours, r['cpu_ms'], cmd_pipeline(model, 'onnxruntime'), digits=3, ratio=one_core,
                                comparable='this CPU, paper i7-11700' if one_core else
                                f'the paper\'s figure is {rate.fraction:.2f}x one core\'s fp32 peak: not a 1-thread run')
        row['paper_rate'] = label(rate_text(rate))
        row['timed_with'] = label(timed_with(timing))
        row['gpu_ms'] = Cell('not measured', paper=r['gpu_ms'], digits=3, command=cmd_pipeline(model, 'tensorrt', GPU))
        row['mobile_ms'] = Cell('not measured', paper=r['mobile_ms'], digits=3, command=cmd_pipeline(model, 'ncnn', PHONE))
        row.update(pipeline_accuracy_cells(m, model, ref_ap.get(model), r['ap']))
        out.rows.append(row)
    return out


def _paper_pose_ap(paper: dict[str, PaperTable] | None = None) -> dict[str, float]:
    """The model-zoo AP of each RTMPose size (reports/paper/table10.yaml: 75.8 for RTMPose-m)."""
    from rtmpose.errors import Error
    from rtmpose.paper import load_paper
    try:
        paper = load_paper() if paper is None else paper
        return {r.get('model'): r.get('ap') for r in paper['table10'].rows}
    except (Error, KeyError):
        return {}


def build_all(paper: dict[str, PaperTable], m: Measurements, variants: dict[str, dict]) -> list[Table]:
    from rtmpose.system import cpu_name
    m.machine = getattr(m, 'machine', '') or cpu_name()
    builders = [table01, None, None, table04, table05, table06, table07, table08, table09, table10, table11, table12]
    out = []
    for i, b in enumerate(builders, start=1):
        tid = f'table{i:02d}'
        if i == 2:
            out.append(table02(paper[tid], m, variants))
        elif i == 3:
            out.append(table03(paper[tid], m, variants))
        elif i in (11, 12):
            out.append(b(paper[tid], m, paper))
        else:
            out.append(b(paper[tid], m))
    return out


# -- Table 13 (not in the paper): deployment speed / accuracy on this machine -----------------------------
TABLE13_SIZES = ('rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l')


def paper_ort_ms(paper: dict[str, PaperTable] | None = None) -> dict[str, float]:
    """The paper's i7-11700 ONNX Runtime latency (ms) of each RTMPose size, from reports/paper/spec_latencies.yaml."""
    from rtmpose.errors import Error
    from rtmpose.paper import SPEC_CPU_COLUMN, load_paper
    try:
        paper = load_paper() if paper is None else paper
    except Error:
        return {}
    spec = paper.get('spec_latencies')
    return {r['key']: float(r[SPEC_CPU_COLUMN]) for r in (spec.rows if spec else ())
            if r['key'] in TABLE13_SIZES and isinstance(r.get(SPEC_CPU_COLUMN), (int, float))}


def _f(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _all_cores(r: dict, cores: int | None) -> bool:
    """A bench row that used every core of its machine (`all_cores` column; older rows: threads >= cores)."""
    flag = str(r.get('all_cores', '')).lower()
    if flag in ('true', 'false'):
        return flag == 'true'
    t = _f(r.get('threads'))
    return bool(cores and t is not None and t >= cores)


def deploy_points(accuracy: list[dict], latency: list[dict], cores: int | None = None) -> list[dict]:
    """One point per size x input x backend x precision: AP (the deploy stage's trained model) and latency (the
    deploy stage's for the trained model, else the bench stage's seeded-weight timing at the model's own input).

    Keys: model, input, backend, precision, executed, ap, delta, ci, latency_ms (1 thread), latency_all_ms (every
    core, bench rows only), all_row, gate, reason, weights, source."""
    pts = []
    for r in accuracy:
        if r.get('backend') == 'pytorch':
            continue
        ci = (_f(r.get('delta_ci_low')), _f(r.get('delta_ci_high')))
        pts.append(dict(model=r['model'], input=r.get('input', '') + ' (trained)', backend=r['backend'], precision=r['precision'],
                        executed=r.get('executed_precision') or None,
                        ap=_f(r.get('AP')), delta=_f(r.get('delta_AP')), ci=ci if None not in ci else None,
                        latency_ms=_f(r.get('latency_ms_median')), latency_all_ms=None, all_row=None,
                        gate=r.get('gate', ''), reason=r.get('reason', ''), weights='trained',
                        source='reports/deploy/accuracy.csv', threads=r.get('threads', '')))
    trained = {(r['model'], r.get('input', '')) for r in accuracy if r.get('backend') != 'pytorch'}
    by_key: dict[tuple, dict] = {}
    for r in latency:   # the bench's seeded-weight timings at the sizes (and inputs) the deploy stage did not train
        if r.get('span') != 'model' or r.get('model') not in TABLE13_SIZES or (r['model'], r.get('input', '')) in trained:
            continue
        key = (r['model'], r.get('input', ''), r['backend'], r['precision'])
        ok = r.get('status') == 'ok'
        p = by_key.get(key)
        if p is None:
            p = by_key[key] = dict(model=r['model'], input=r.get('input', ''), backend=r['backend'],
                                   precision=r['precision'], executed=r.get('executed_precision') or None,
                                   ap=None, delta=None, ci=None, latency_ms=None, latency_all_ms=None, all_row=None,
                                   gate='pass (export gate; AP not measured)' if ok else 'fail',
                                   reason='' if ok else r.get('status', ''), weights=r.get('weights', 'random'),
                                   source='reports/bench/latency.csv', threads='')
            pts.append(p)
        if not ok:
            continue
        if str(r.get('threads', '1')) == '1' and p['latency_ms'] is None:
            p['latency_ms'], p['threads'] = _f(r.get('median_ms')), '1'
        if _all_cores(r, cores):
            p['latency_all_ms'], p['all_row'] = _f(r.get('median_ms')), r
        if p['gate'] == 'fail':
            p.update(gate='pass (export gate; AP not measured)', reason='')
    return pts


def pareto_front(points: list[dict]) -> list[dict]:
    """Points with AP and latency not dominated by another (lower-or-equal latency and higher-or-equal AP, one
    strictly); only gate-passing points compete."""
    cand = [p for p in points if p['ap'] is not None and p['latency_ms'] is not None and p['gate'].startswith('pass')]
    return [p for p in cand if not any(q is not p and q['latency_ms'] <= p['latency_ms'] and q['ap'] >= p['ap']
                                       and (q['latency_ms'] < p['latency_ms'] or q['ap'] > p['ap']) for q in cand)]


def fastest_passing(points: list[dict]) -> dict[str, dict]:
    """Per size and input, the fastest configuration (1 thread) that passed the gate (AP gate for the trained
    size, export gate for the seeded sizes), keyed by (model, input)."""
    best: dict[tuple, dict] = {}
    for p in points:
        if p['latency_ms'] is None or not p['gate'].startswith('pass'):
            continue
        key = (p['model'], p['input'])
        if key not in best or p['latency_ms'] < best[key]['latency_ms']:
            best[key] = p
    return best


def precision_text(p: dict) -> str:
    """The requested precision, and what ran where the runtime says otherwise (or did not say)."""
    done = p.get('executed')
    if done and done != p['precision']:
        return f'{p["precision"]} (executed {done})'
    if not done and p['precision'] in ('fp16', 'bf16'):
        return f'{p["precision"]} (executed precision not recorded: older result)'
    return p['precision']


def table13(accuracy: list[dict], latency: list[dict], machine: str = '', cores: int | None = None,
            paper: dict[str, PaperTable] | None = None) -> Table:
    """Table 13 (NOT IN THE PAPER): AP vs latency for every size x backend x precision on this machine."""
    paper_ms = paper_ort_ms(paper)
    _, rates = _paper_cpu(paper)
    cols = [('model', 'model'), ('input', 'input'), ('backend', 'backend'), ('precision', 'precision (executed)'),
            ('ap', 'AP'), ('delta', 'ΔAP vs PyTorch fp32 [95% CI]'), ('latency', 'latency ms (1 thread)'),
            ('latency_all', 'latency ms (all cores)'), ('gate', 'gate'), ('pareto', 'Pareto'),
            ('fastest', 'fastest passing (1 thread); the paper\'s figure beside our all-cores one')]
    verdicts = '; '.join(f'{k.split("-")[1]} {v} ms ({rate_text(rates.get(("spec_latencies", k)))})'
                         for k, v in paper_ms.items())
    t = Table('table13', 'Table 13 (not in the paper): deployment speed and accuracy per backend and precision, '
              'this machine', 'none: this suite\'s own measurement (deploy and bench stages)', cols,
              notes=['Not in the paper. AP only for the size the `train` stage trained (at its input size); other '
                     'sizes are timed with seeded weights and their AP is `not measured`.',
                     'ΔAP: paired bootstrap over val images against PyTorch fp32 (reports/deploy/summary.md).',
                     'Precision: the one requested, and what the runtime executed where that differs (OpenVINO reads '
                     'its inference precision back; ncnn\'s fp16 is probed by running fp16 options on and off, and '
                     'refused where the outputs are bit-identical: "fp16 requested, executed fp32").',
                     'The paper\'s i7-11700 ORT latencies (stated as 1 thread): ' + verdicts + '. They imply more '
                     'than one core\'s fp32 peak, so they stand beside our all-cores latency, never the 1-thread one.'])
    pts = deploy_points(accuracy, latency, cores)
    front = {id(p) for p in pareto_front(pts)}
    best = fastest_passing(pts)
    for p in sorted(pts, key=lambda p: (TABLE13_SIZES.index(p['model']) if p['model'] in TABLE13_SIZES else 9,
                                        p['latency_ms'] if p['latency_ms'] is not None else 1e9)):
        prov = Provenance(p['source'], model=p['model'], backend=f'{p["backend"]} {p["precision"]}', machine=machine)
        if p['ap'] is not None:
            ap = Cell('measured', measured=p['ap'], provenance=prov, digits=4)
            lo, hi = p['ci'] or (None, None)
            d = label(f'{p["delta"]:+.4f} [{lo:+.4f}, {hi:+.4f}]' if lo is not None else f'{p["delta"]:+.4f}')
        else:
            ap = Cell('not measured', command=f'rtmpose train --params params.yaml --set model={p["model"]} && '
                      f'rtmpose deploy --params params.yaml --set model={p["model"]}', digits=4)
            d = label('')
        lat = (Cell('measured', measured=p['latency_ms'], provenance=prov, digits=2) if p['latency_ms'] is not None
               else label('not timed: failed the gate' if p['gate'] == 'fail' else p['gate']))
        trained = p['source'].startswith('reports/deploy')
        if p['latency_all_ms'] is not None:
            threads = p['all_row'].get('threads', '')
            lat_all = Cell('measured', measured=p['latency_all_ms'], digits=2, provenance=Provenance(
                p['source'], model=p['model'], backend=f'{p["backend"]} {p["precision"]}, {threads} threads = all cores',
                machine=machine))
        elif trained:
            lat_all = label('deploy stage: 1 thread only')
        elif p['gate'].startswith('pass'):
            lat_all = Cell('not measured', command=CMD_BENCH_ALL, digits=2)
        else:
            lat_all = label('')
        fast = ''
        if best.get((p['model'], p['input'])) is p:
            ref = paper_ms.get(p['model'])
            if ref and p['input'].startswith('256x192'):
                if p['latency_all_ms'] is not None:
                    fast = (f'yes; all cores {p["latency_all_ms"]:.2f} ms vs the paper\'s {ref} ms '
                            f'(x{p["latency_all_ms"] / ref:.2f}, n/c: this CPU vs the i7-11700)')
                else:
                    fast = f'yes; the paper\'s {ref} ms stands beside our all-cores figure: not measured ({CMD_BENCH_ALL})'
            else:
                fast = 'yes' + (f' ({p["input"]}: the paper times 256x192)' if ref else '')
        gate = p['gate'] + (f': {p["reason"]}' if p['reason'] else '')
        t.rows.append({'model': label(p['model']), 'input': label(p['input']), 'backend': label(p['backend']),
                       'precision': label(precision_text(p)), 'ap': ap, 'delta': d, 'latency': lat,
                       'latency_all': lat_all, 'gate': label(gate),
                       'pareto': label('front' if id(p) in front else ''), 'fastest': label(fast)})
    return t
