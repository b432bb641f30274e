#!/usr/bin/env python3
"""Turns the measurements of integration/bench.sh into BENCHMARKS.md (medians, ratios to the
reference pipeline, machine, and where sifter's time goes). Usage: report.py RUNS REPS KIND REF"""
import json
import os
import platform
import statistics
import sys

runs, reps, kind, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def load(name):
    with open(os.path.join(runs, name)) as f:
        return json.load(f)


def median(values):
    return statistics.median(values) if values else float("nan")


def reference(rep):
    steps = [load(f"a-{step}-{rep}.json") for step in ("skopeo", "umoci", "mksquashfs", "siftool")]
    return {
        "wall": sum(s["wall"] for s in steps), "cpu": sum(s["cpu"] for s in steps),
        "self": max(s["peakRSSSelfMB"] for s in steps), "tree": max(s["peakRSSTreeMB"] for s in steps),
        "disk": max(s["peakDiskMB"] for s in steps), "steps": {s["command"][0].split("/")[-1]: s["wall"] for s in steps},
    }


def single(prefix, rep):
    s = load(f"{prefix}-{rep}.json")
    return {"wall": s["wall"], "cpu": s["cpu"], "self": s["peakRSSSelfMB"], "tree": s["peakRSSTreeMB"],
            "disk": s["peakDiskMB"], "child": s["childCPU"]}


a = [reference(r) for r in range(1, reps + 1)]
b = [single("b", r) for r in range(1, reps + 1)]
c = [single("c", r) for r in range(1, reps + 1)]
m = [single("m", r) for r in range(1, reps + 1)]
d = [single("d", r) for r in range(1, reps + 1)]
e = [single("e", r) for r in range(1, reps + 1)]
f = [single("f", r) for r in range(1, reps + 1)]
e2 = [single("e2", r) for r in range(1, reps + 1)]
sif_mb = median([int(open(os.path.join(runs, f"b-size-{r}")).read()) / 1e6 for r in range(1, reps + 1)])
ref_sif_mb = median([int(open(os.path.join(runs, f"a-size-{r}")).read()) / 1e6 for r in range(1, reps + 1)])
cache_mb = median([int(open(os.path.join(runs, f"b-cache-{r}")).read()) / 1e6 for r in range(1, reps + 1)])


def med(rows, key):
    return median([row[key] for row in rows])


def line(name, rows, conversion=True):
    wall = med(rows, "wall")
    ratio = f"{wall / med(a, 'wall'):.2f}×" if conversion else "–"
    disk = f"{med(rows, 'disk'):.0f} MB" if conversion else "–"
    return (f"| {name} | {wall:.2f} s | {ratio} | {med(rows, 'cpu'):.1f} s | "
            f"{med(rows, 'self'):.0f} MB | {med(rows, 'tree'):.0f} MB | {disk} |")


cpu_model = "unknown"
try:
    for text in open("/proc/cpuinfo"):
        if text.startswith("model name"):
            cpu_model = text.split(":", 1)[1].strip()
            break
except OSError:
    pass
mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

timings = [load(f"b-report-{r}.json")["timings"] for r in range(1, reps + 1)]
stage = lambda name: median([t.get(name, 0) for t in timings])
squash_wall = stage("squash")
mksquashfs_cpu = median([row["child"].get("mksquashfs", 0) for row in b])
cores = os.cpu_count() or 1
reports = [load(f"b-report-{r}.json") for r in range(1, reps + 1)]
one_pass = sum(1 for r in reports if r.get("onePass"))
busy = f"mksquashfs used {mksquashfs_cpu:.1f} s of CPU ({100 * mksquashfs_cpu / max(squash_wall * cores, 1e-9):.0f}% of {cores} cores)"
if one_pass == len(reports):
    flatten_text = (f"every layer read once, top layer first, streamed into mksquashfs from the first member "
                    f"(one pass, in all {reps} runs) {squash_wall:.1f} s, during which {busy}")
else:
    reasons = sorted({r.get("onePassAbandoned") or "" for r in reports} - {""})
    flatten_text = (f"one pass in {one_pass} of {reps} runs (given up: {'; '.join(reasons)}): "
                    f"abandoned attempt {stage('abandoned'):.1f} s, index of every layer {stage('index'):.1f} s, "
                    f"stream into mksquashfs {squash_wall:.1f} s, during which {busy}")

read_while = median([r.get("layersReadWhileDownloading", 0) for r in reports])
if any("resolve" in t for t in timings):
    download_text = (f"resolve {stage('resolve'):.2f} s; the layers downloaded in {stage('download'):.1f} s while the "
                     f"stream already ran (top layer first, {read_while:.0f} of them read as they arrived)")
else:
    download_text = f"resolve and download {stage('resolve+download'):.1f} s"

print(f"""# Benchmarks

Measured by `integration/bench.sh` (BENCH_IMAGE={kind}, {reps} repetitions, alternating, medians).
The image is served by a real registry (CNCF distribution) on 127.0.0.1: `{ref.split('/', 1)[1]}`.

Machine: {cores} cores ({cpu_model}), {mem_gb:.0f} GiB, {platform.system()} {platform.release()}.
Reference SIF {ref_sif_mb:.0f} MB; sifter's SIF {sif_mb:.0f} MB (both gzip, 128 KiB blocks).

| run | wall | ratio to (a) | user+sys CPU | peak RSS, main process | peak RSS, process tree | peak temporary disk |
|---|---|---|---|---|---|---|
{line("(a) skopeo → umoci → mksquashfs → siftool", a)}
{line("(b) sifter build, cold blob cache", b)}
{line("(c) sifter build, warm blob cache", c)}
{line("mksquashfs alone on sifter's tar stream", m)}
{line("(d) sifter convert, destination up to date", d, False)}
{line("(e) sifter push of the SIF just built (digest remembered)", e, False)}
{line("sifter push of a copy (digest computed first)", e2, False)}
{line("curl -T of the same file (one PUT)", f, False)}

(a) in steps (median wall): {", ".join(f"{k} {median([r['steps'][k] for r in a]):.1f} s" for k in a[0]['steps'])}.
Temporary disk of (b) and (c) is the directory holding the output (the SIF is the only file written there);
the blob cache, kept between runs on purpose, held {cache_mb:.0f} MB after (b).

Targets (issue 9): (b) ≤ 0.75× (a): {med(b, 'wall') / med(a, 'wall'):.2f}×; (b) ≤ 1.05× mksquashfs alone:
{med(b, 'wall') / med(m, 'wall'):.2f}×; temporary disk ≤ 1.1× the SIF: {med(b, 'disk') / sif_mb:.2f}×;
sifter process RSS ≤ 150 MB: {med(b, 'self'):.0f} MB; (d) ≤ 1 s: {med(d, 'wall'):.2f} s;
(e) ≥ 0.8× curl's throughput: {med(f, 'wall') / med(e, 'wall'):.3f}× ({sif_mb / med(e, 'wall'):.0f} MB/s against
{sif_mb / med(f, 'wall'):.0f} MB/s); a copy of the SIF, which sifter must hash before it can ask the
registry whether it has the blob: {med(f, 'wall') / med(e2, 'wall'):.3f}× ({sif_mb / med(e2, 'wall'):.0f} MB/s).

Where (b)'s time goes (median): {download_text}; metadata and layout {stage('prepare'):.1f} s; first member of each layer read (the root's owner and mode, which mksquashfs
needs at start) {stage('guess'):.1f} s; {flatten_text}; SIF assembly (root time set, header, integrity
record) {stage('sif'):.1f} s.
""")
