"""`rtmpose demo`: RTMDet + RTMPose on an image, a folder of images or a video; `--bench` times the
pipeline per frame with the paper's protocol."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('input', nargs='?', help='image, folder of images or video file (optional with --bench)')
    p.add_argument('--out', default='demo-out', help='output folder (drawn result + JSON), or the CSV with --bench')
    p.add_argument('--params', help='params.yaml whose `pipeline:` section gives the defaults')
    p.add_argument('--pose-model', help='rtmpose-t/s/m/l/... (default rtmpose-m)')
    p.add_argument('--det-model', help='rtmdet-nano or rtmdet-tiny (default rtmdet-nano)')
    p.add_argument('--pose-checkpoint', help='RTMPose checkpoint (mmpose release or this suite)')
    p.add_argument('--det-checkpoint', help='RTMDet checkpoint (mmdet release)')
    p.add_argument('--random-weights', action='store_true',
                   help='run with untrained weights where no checkpoint is given (exercises the pipeline only)')
    p.add_argument('--backend', help='torch, onnxruntime (default), openvino, ncnn or tensorrt')
    p.add_argument('--threads', type=int, help='intra-op threads (default 1)')
    p.add_argument('--det-interval', type=int, help='video: run the detector every K frames (default 1)')
    p.add_argument('--max-frames', type=int, default=0, help='video: stop after this many frames (0: all)')
    p.add_argument('--no-smooth', action='store_true', help='video: no One-Euro smoothing')
    p.add_argument('--work-dir', default='harness/pipeline-exports', help='where exported models are cached')
    p.add_argument('--bench', action='store_true',
                   help='time detector + pose per frame for each bench model; writes --out as CSV')
    p.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    from rtmpose.errors import Error
    from rtmpose.inference.pipeline import build, run_source, settings_from
    params = None
    if args.params:
        from rtmpose.settings import read_params as load_params
        params = load_params(args.params).get('pipeline', {})
    if args.threads is not None and args.threads < 1:
        raise Error(f'--threads must be >= 1, got {args.threads}')
    settings = settings_from(params, pose_model=args.pose_model, det_model=args.det_model, backend=args.backend,
                             threads=args.threads, det_interval=args.det_interval,
                             smooth=False if args.no_smooth else None)
    if args.bench:
        from rtmpose.inference.bench import run_bench
        out = args.out if args.out.endswith('.csv') else 'reports/bench/pipeline.csv'
        image = boxes = None
        if args.input:
            from rtmpose.inference.video import read_image
            image = read_image(args.input)
        ckpts = {settings.pose_model: args.pose_checkpoint} if args.pose_checkpoint else None
        if ckpts:
            from dataclasses import replace
            settings = replace(settings, bench_pose_models=(settings.pose_model,))
        rows = run_bench(settings, out, image, boxes, ckpts, args.det_checkpoint, args.random_weights,
                         args.work_dir, progress=not args.quiet)
        for r in rows:
            print(f"{r['det_model']} + {r['pose_model']} [{r['backend']}, {r['threads']} thr, {r['weights']} "
                  f"weights, {r['people']} people, boxes: {r['boxes']}]: {r['mean_ms']:.2f} ms/frame "
                  f"(det {r['det_mean_ms']:.2f}, pose {r['pose_mean_ms']:.2f}; paper {r['paper_ort_ms']})")
        print(f'wrote {out}')
        return 0
    if not args.input:
        raise Error('INPUT is required (an image, a folder of images or a video), unless --bench')
    from rtmpose.inference.video import VideoReader, kind_of, read_image
    kind = kind_of(args.input)   # fail on a missing, unsupported or unreadable input before building anything
    if kind == 'image':
        read_image(args.input)
    elif kind == 'video':
        VideoReader(args.input).cap.release()
    models = build(settings, args.pose_checkpoint, args.det_checkpoint, args.random_weights, args.work_dir)
    doc = run_source(args.input, args.out, models, settings, progress=not args.quiet,
                     max_frames=args.max_frames)
    n = sum(len(f['people']) for f in doc['frames'])
    print(f'{len(doc["frames"])} frame(s), {n} people in total -> {args.out}')
    return 0
