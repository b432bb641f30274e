#!/usr/bin/env bash
# Starts a one-node Slurm cluster on 127.0.0.1 for tests: munged with a key made here, then
# slurmctld and slurmd in the foreground (-D) in the background, everything (key, socket, state,
# spool, logs) under WORKDIR. Usage: start.sh WORKDIR [CPUS]
# Writes WORKDIR/env (SLURM_CONF=…, for sbatch and squeue) and WORKDIR/pids (one process id a
# line; stop.sh kills exactly those). Needs Debian's slurm-wlm and munge, and root (the
# daemons run as root: SlurmUser=root).
#
# What a container without systemd or cgroup delegation needs: proctrack/linuxproc (processes
# found through /proc, no cgroup), task/none (no affinity or cgroup confinement), no
# accounting, jobacct_gather/none, and munged with --force (it refuses root-owned keys in
# directories it deems insecure otherwise); slurmd is told its node name (-N localhost),
# since the machine's host name is not the node's.
set -euo pipefail
# Foundation.Process waits for descriptors a daemon inherits: close all above stderr first.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
work=${1:?usage: start.sh WORKDIR [CPUS]}
cpus=${2:-2}
for tool in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null || { echo "slurm/start.sh: $tool is not installed (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
chmod 700 "$work/munge"
: >"$work/pids"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

mungekey --create --keyfile="$work/munge/munge.key"
chmod 600 "$work/munge/munge.key"
munged -F --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.sock" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed" >"$work/log/munged.out" 2>&1 &
echo $! >>"$work/pids"
for _ in $(seq 1 100); do [ -S "$work/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.sock" ] || { echo "slurm/start.sh: munged did not start" >&2; cat "$work/log/munged.out" >&2; exit 1; }

cat >"$work/slurm.conf" <<CONF
ClusterName=siftertest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.sock
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
echo $! >>"$work/pids"
slurmd -D -N localhost -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 &
echo $! >>"$work/pids"
echo "SLURM_CONF=$SLURM_CONF" >"$work/env"
# Ready when the node is idle (slurmd registered with slurmctld).
for _ in $(seq 1 300); do
  [ "$(sinfo -h -n localhost -o %T 2>/dev/null || true)" = idle ] && exit 0
  sleep 0.1
done
echo "slurm/start.sh: the node did not become idle" >&2
tail -n 20 "$work/log/"* >&2
exit 1
