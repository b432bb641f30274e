#!/usr/bin/env python3
"""Runs a command and measures it: wall time, user+sys CPU of the whole process tree, peak
RSS of the command's own process and of its whole tree (sampled from /proc every 50 ms),
peak disk use of the given directories, and the CPU time of descendants by name.

Usage: monitor.py --json OUT.json [--disk DIR]... -- COMMAND ARGS...
Prints the command's own output; exits with its status."""
import json
import os
import subprocess
import sys
import threading
import time


def tree(root):
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(pid))
        except OSError:
            continue
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK"), open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return 0.0, ""


def disk_bytes(paths):
    total = 0
    for path in paths:
        for directory, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(directory, name)).st_blocks * 512
                except OSError:
                    pass
    return total


def main():
    args = sys.argv[1:]
    out, disks = None, []
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag == "--json":
            out = args.pop(0)
        elif flag == "--disk":
            disks.append(args.pop(0))
    command = args[1:]
    start = time.monotonic()
    proc = subprocess.Popen(command)
    peak = {"self": 0, "tree": 0, "disk": 0}
    cpu_by_name = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = tree(proc.pid)
            peak["self"] = max(peak["self"], status_kb(proc.pid, "VmHWM"))
            peak["tree"] = max(peak["tree"], sum(status_kb(p, "VmRSS") for p in pids))
            for p in pids[1:]:
                seconds, name = cpu_seconds(p)
                if name:
                    cpu_by_name[(p, name)] = seconds
            if disks:
                peak["disk"] = max(peak["disk"], disk_bytes(disks))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    by_name = {}
    for (_, name), seconds in cpu_by_name.items():
        by_name[name] = by_name.get(name, 0) + seconds
    result = {
        "command": command, "status": os.waitstatus_to_exitcode(status), "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime, "peakRSSSelfMB": peak["self"] / 1024,
        "peakRSSTreeMB": peak["tree"] / 1024, "peakDiskMB": peak["disk"] / 1e6, "childCPU": by_name,
    }
    if out:
        with open(out, "w") as f:
            json.dump(result, f)
    sys.exit(result["status"])


if __name__ == "__main__":
    main()
