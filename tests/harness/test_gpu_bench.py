"""tools/gpu_bench.py: the prepared GPU script runs end to end on CPU in a tiny dry run, and its rows never
reach the paper's TensorRT GTX 1660 Ti cells."""
import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_gpu_script_dry_run_on_cpu(tmp_path):
    out = tmp_path / 'gpu.csv'
    res = subprocess.run([sys.executable, str(ROOT / 'tools' / 'gpu_bench.py'), '--device', 'cpu', '--runs', '2',
                          '--warmup', '1', '--models', 'rtmpose-t', '--batches', '1', '2',
                          '--modes', 'eager-fp16', 'train-amp', '--out', str(out)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = list(csv.DictReader(out.open()))
    assert [(r['mode'], r['batch']) for r in rows] == [('eager-fp16', '1'), ('train-amp', '1'),
                                                        ('eager-fp16', '2'), ('train-amp', '2')]
    for r in rows:
        assert r['status'] == 'ok' and r['device'] == 'cpu' and r['runs'] == '2'
        assert r['gpu'] and 'torch' in r['runtime'] and 'dry run' in r['precision']
        assert float(r['median_ms']) > 0 and float(r['images_per_s']) > 0


def test_gpu_script_refuses_missing_cuda():
    import torch
    if torch.cuda.is_available():
        return
    res = subprocess.run([sys.executable, str(ROOT / 'tools' / 'gpu_bench.py'), '--runs', '1', '--models',
                          'rtmpose-t', '--out', '/dev/null'], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode != 0 and 'no CUDA device' in res.stderr


def test_gpu_rows_stay_out_of_the_tensorrt_cells(tmp_path):
    from rtmpose.paper import load_paper
    from rtmpose.reports.build import table11, table12
    from rtmpose.reports.measured import collect
    gpu_dir = tmp_path / 'reports' / 'bench' / 'gpu'
    gpu_dir.mkdir(parents=True)
    (gpu_dir / 'NVIDIA_H100.csv').write_text('gpu,device,runtime,model,mode,precision,batch,median_ms,mean_ms,status\n'
                                             'NVIDIA H100,cuda,torch,rtmpose-t,eager-fp16,fp16,1,0.9,0.9,ok\n')
    m = collect(tmp_path)
    paper = load_paper()
    for t in (table11(paper['table11'], m), table12(paper['table12'], m)):
        assert all(row['gpu_ms'].kind == 'not measured' for row in t.rows)
