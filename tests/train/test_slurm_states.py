"""Job states from `scontrol show job -o` (fast, no cluster): the lines below are what Debian's slurmctld 22.05
printed for an array with %1 throttle, before and after `scancel` of its pending task 1."""
import pytest

from rtmpose.train.slurm import GONE, _parse_scontrol

PENDING_ARRAY = 'JobId=1 ArrayJobId=1 ArrayTaskId=0-1%1 ArrayTaskThrottle=1 JobName=submitit JobState=PENDING NodeList='
SPLIT = ('JobId=2 ArrayJobId=1 ArrayTaskId=0 ArrayTaskThrottle=1 JobName=submitit JobState=RUNNING NodeList=localhost\n'
         'JobId=1 ArrayJobId=1 ArrayTaskId=1 ArrayTaskThrottle=1 JobName=submitit JobState=CANCELLED NodeList=')
PLAIN = 'JobId=7 JobName=train JobState=COMPLETED Reason=None NodeList=localhost'


def test_a_pending_range_gives_each_task_its_state_and_split_tasks_their_own():
    assert {k: v['State'] for k, v in _parse_scontrol(PENDING_ARRAY).items()} == {'1_0': 'PENDING', '1_1': 'PENDING'}
    assert {k: v['State'] for k, v in _parse_scontrol(SPLIT).items()} == {'1_0': 'RUNNING', '1_1': 'CANCELLED'}
    assert _parse_scontrol(PLAIN) == {'7': {'JobID': '7', 'State': 'COMPLETED', 'NodeList': 'localhost'}}


def test_a_task_slurmctld_no_longer_lists_is_over_not_pending_forever():
    pytest.importorskip('submitit')
    from rtmpose.train.slurm import _watcher_class
    watcher = _watcher_class()(delay_s=1)
    for job in ('1_0', '1_1'):
        watcher.register_job(job)
    watcher._info_dict.update(watcher.read_info(PENDING_ARRAY))
    assert not watcher.is_done('1_1', mode='cache')
    # scancel 1_1 while it is still part of the pending record: slurmctld drops it from the listing
    watcher._info_dict.update(watcher.read_info('JobId=1 ArrayJobId=1 ArrayTaskId=0 JobState=RUNNING NodeList=x'))
    assert watcher.get_state('1_1', mode='cache') == GONE and watcher.is_done('1_1', mode='cache')
    assert not watcher.is_done('1_0', mode='cache')
