"""`rtmpose demo`: RTMDet + RTMPose on an image, a folder of images or a video (the pipeline's latency is
timed by `rtmpose bench --pipeline`)."""
from __future__ import annotations

import argparse

from rtmpose.deploy.backends import BACKEND_NAMES
from rtmpose.inference.pipeline import PipelineSettings
from rtmpose.settings import default_of


def configure(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(PipelineSettings, name)  # noqa: E731
    p.add_argument('input', nargs='?', help='image, folder of images or video file')
    p.add_argument('--out', help=f'output folder: drawn result + JSON (default {d("demo_out")})')
    p.add_argument('--params', help='params.yaml whose `pipeline:` section gives the settings')
    p.add_argument('--set', action='append', metavar='KEY=VALUE', dest='sets',
                   help='override a key of the `pipeline:` section (repeatable)')
    p.add_argument('--pose-model', help=f'rtmpose-t/s/m/l/... (default {d("pose_model")})')
    p.add_argument('--det-model', help=f'rtmdet-nano or rtmdet-tiny (default {d("det_model")})')
    p.add_argument('--pose-checkpoint', help='RTMPose checkpoint (mmpose release or this suite; default '
                                             'params.yaml pipeline.pose_checkpoint with --params)')
    p.add_argument('--det-checkpoint', help='RTMDet checkpoint (mmdet release or this suite; default '
                                            'params.yaml pipeline.det_checkpoint with --params)')
    p.add_argument('--random-weights', action='store_true',
                   help='run with untrained weights where no checkpoint is given (exercises the pipeline only)')
    p.add_argument('--backend', choices=BACKEND_NAMES, help=f'default {d("backend")}')
    p.add_argument('--threads', type=int, help=f'intra-op threads (default {d("threads")})')
    p.add_argument('--det-interval', metavar='K[,K...]',
                   help=f'video: run the detector every K frames (default {d("det_interval")}); with '
                        '--ground-truth, several (1,2,5,10) run the video once per K')
    p.add_argument('--ground-truth', metavar='ANNOTATIONS.json',
                   help='video: COCO annotations with frame_index and track_id (rtmpose prepare synthetic-video); '
                        'writes <out>/metrics.json: pose AP, box AP, MOTA, ID switches, ms/frame per K')
    p.add_argument('--report', metavar='DIR', help='with --ground-truth: the skip-frame report (CSV, markdown, '
                                                   'figure) and three drawn frames into DIR')
    p.add_argument('--stills-reference', metavar='ACCURACY.json',
                   help='with --report: `rtmpose pipeline-accuracy` of the same video\'s frames (--data-dir of '
                        '`rtmpose prepare synthetic-video`), shown beside the pipeline in the report')
    p.add_argument('--max-frames', type=int, help=f'video: stop after this many frames, 0: all (default {d("max_frames")})')
    p.add_argument('--no-smooth', action='store_true', help='video: no One-Euro smoothing')
    p.add_argument('--exports', help=f'export cache folder (default {d("exports")})')
    p.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    from rtmpose.inference.pipeline import parse_intervals, run_demo
    from rtmpose.settings import resolve
    ks = parse_intervals(args.det_interval, '--det-interval') if args.det_interval is not None else None
    settings = resolve(PipelineSettings, params=args.params, section='pipeline' if args.params else None,
                       sets=args.sets, where=None if args.params else 'command line', flags=dict(
                           pose_model=args.pose_model, det_model=args.det_model, backend=args.backend,
                           threads=args.threads, det_interval=ks[0] if ks and len(ks) == 1 else None, max_frames=args.max_frames,
                           smooth=False if args.no_smooth else None, exports=args.exports, demo_out=args.out))
    run_demo(args.input, settings, args.pose_checkpoint, args.det_checkpoint, args.random_weights,
             progress=not args.quiet, ground_truth=args.ground_truth, det_intervals=ks, report_dir=args.report,
             stills_reference=args.stills_reference)
    return 0
