"""A real one-node Slurm cluster on localhost for the tests (Debian's slurmctld, slurmd, munge; root only):
munged with a generated key, slurmctld and slurmd from a slurm.conf in a temporary folder, no accounting
(`sacct` answers "accounting storage is disabled", as on many small clusters)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

CONF = '''ClusterName=rtmpose-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
MinJobAge=600
NodeName=localhost CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
'''


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    missing = [b for b in ('slurmctld', 'slurmd', 'sbatch', 'scontrol', 'munged') if shutil.which(b) is None]
    if missing:
        return f'Slurm is not installed ({", ".join(missing)} missing; make slurm installs Debian\'s packages)'
    if os.geteuid() != 0:
        return 'starting slurmctld/slurmd/munged needs root'
    return None


def _munge() -> None:
    key = Path('/etc/munge/munge.key')
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(os.urandom(1024))
        shutil.chown(key, 'munge', 'munge')
        key.chmod(0o400)
    for d in ('/run/munge', '/var/log/munge', '/var/lib/munge'):
        Path(d).mkdir(parents=True, exist_ok=True)
        shutil.chown(d, 'munge', 'munge')
    if subprocess.run(['pgrep', '-x', 'munged'], capture_output=True).returncode != 0:
        subprocess.run(['munged', '--force'], check=True, capture_output=True)


class Cluster:
    def __init__(self, root: Path, cpus: int = 2):
        import random
        self.root = root
        self.conf = root / 'slurm.conf'
        ctld = random.randint(20000, 29000)
        root.mkdir(parents=True, exist_ok=True)
        for d in ('state', 'spool'):
            (root / d).mkdir(exist_ok=True)
        self.conf.write_text(CONF.format(root=root, ctld_port=ctld, d_port=ctld + 1, cpus=cpus))
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def start(self) -> Cluster:
        _munge()
        subprocess.run(['slurmctld', '-f', str(self.conf)], check=True, env=self.env, capture_output=True)
        subprocess.run(['slurmd', '-f', str(self.conf), '-N', 'localhost'], check=True, env=self.env,
                       capture_output=True)
        t0 = time.time()
        while True:
            r = subprocess.run(['sinfo', '-h', '-o', '%T'], env=self.env, capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.strip() in ('idle', 'mixed', 'allocated'):
                return self
            if time.time() - t0 > 60:
                raise RuntimeError(f'the test cluster did not come up: {r.stdout}{r.stderr}\n'
                                   f'{(self.root / "slurmctld.log").read_text()[-2000:]}')
            time.sleep(0.5)

    def stop(self) -> None:
        for pid_file in ('slurmd.pid', 'slurmctld.pid'):
            p = self.root / pid_file
            if p.exists():
                try:
                    os.kill(int(p.read_text().strip()), 15)
                except (ValueError, ProcessLookupError):
                    pass
        time.sleep(1)
