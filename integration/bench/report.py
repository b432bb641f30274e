#!/usr/bin/env python3
"""Turns the measurements of integration/bench.sh into BENCHMARKS.md: per image, medians, ratios
to the reference pipeline and to mksquashfs alone, and where sifter's time goes.
Usage: report.py RUNS REPS REGISTRY KIND..."""
import json
import os
import platform
import statistics
import sys

runs, reps, registry, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
# (image, (b)/mksquashfs, (b′)/mksquashfs, (b)/(b′), CPU of (b) minus (b′)) for the design comparison.
design = []


def median(values):
    return statistics.median(values) if values else float("nan")


def section(kind, with_push):
    base = os.path.join(runs, kind)

    def load(name):
        with open(os.path.join(base, name)) as f:
            return json.load(f)

    def number(name):
        return int(open(os.path.join(base, name)).read())

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

    repetitions = range(1, reps + 1)
    a = [reference(r) for r in repetitions]
    b = [single("b", r) for r in repetitions]
    c = [single("c", r) for r in repetitions]
    m = [single("m", r) for r in repetitions]
    sif_mb = median([number(f"b-size-{r}") / 1e6 for r in repetitions])
    ref_sif_mb = median([number(f"a-size-{r}") / 1e6 for r in repetitions])
    cache_mb = median([number(f"b-cache-{r}") / 1e6 for r in repetitions])

    def med(rows, key):
        return median([row[key] for row in rows])

    def line(name, rows, conversion=True):
        wall = med(rows, "wall")
        ratio = f"{wall / med(a, 'wall'):.2f}×" if conversion else "–"
        disk = f"{med(rows, 'disk'):.0f} MB" if conversion else "–"
        return (f"| {name} | {wall:.2f} s | {ratio} | {med(rows, 'cpu'):.1f} s | "
                f"{med(rows, 'self'):.0f} MB | {med(rows, 'tree'):.0f} MB | {disk} |")

    per_rep = ", ".join("%.3f" % (x["wall"] / y["wall"]) for x, y in zip(b, m))
    rows = [line("(a) skopeo → umoci → mksquashfs → siftool", a),
            line("(b) sifter build, cold blob cache", b),
            line("(c) sifter build, warm blob cache", c),
            line("mksquashfs alone on sifter's tar stream", m)]
    compare_label = os.environ.get("BENCH_COMPARE_LABEL", "")
    if compare_label and os.path.exists(os.path.join(base, "x-1.json")):
        x = [single("x", r) for r in repetitions]
        rows.insert(2, line(f"(b′) {compare_label}, cold blob cache", x))
        per_x = ", ".join("%.3f" % (p["wall"] / q["wall"]) for p, q in zip(x, m))
        design.append((kind, med(b, "wall") / med(m, "wall"), med(x, "wall") / med(m, "wall"), med(b, "wall") / med(x, "wall"),
                       med(b, "cpu") - med(x, "cpu")))
        compared = (f"(b′) {compare_label} against mksquashfs alone: {med(x, 'wall') / med(m, 'wall'):.3f}× "
                    f"(per repetition: {per_x}); (b) against (b′): {med(b, 'wall') / med(x, 'wall'):.3f}×")
    else:
        compared = None
    sbom_cost = None
    if os.path.exists(os.path.join(base, "n-1.json")):
        n = [single("n", r) for r in repetitions]
        rows.insert(2, line("(b″) sifter build --no-sbom, cold blob cache", n))
        packages = median([(load(f"b-report-{r}.json").get("sbom") or {}).get("packages", 0) for r in repetitions])
        sbom_cost = (f"the SBOM ({packages:.0f} packages) costs ≤ 2% of the cold build: (b) against (b″) "
                     f"{(med(b, 'wall') / med(n, 'wall') - 1) * 100:+.1f}% wall, "
                     f"{(med(b, 'cpu') / med(n, 'cpu') - 1) * 100:+.1f}% CPU "
                     f"(per repetition: {', '.join('%+.1f%%' % ((p['wall'] / q['wall'] - 1) * 100) for p, q in zip(b, n))})")
    targets = [f"(b) ≤ 0.75× (a): {med(b, 'wall') / med(a, 'wall'):.2f}×",
               f"(b) ≤ 1.05× mksquashfs alone: {med(b, 'wall') / med(m, 'wall'):.3f}× "
               f"(per repetition: {per_rep})",
               f"(c) against mksquashfs alone: {med(c, 'wall') / med(m, 'wall'):.3f}×",
               *([compared] if compared else []),
               *([sbom_cost] if sbom_cost else []),
               f"temporary disk ≤ 1.1× the SIF: {med(b, 'disk') / sif_mb:.2f}×",
               f"sifter process RSS ≤ 150 MB: {med(b, 'self'):.0f} MB"]
    if with_push:
        d = [single("d", r) for r in repetitions]
        e = [single("e", r) for r in repetitions]
        f = [single("f", r) for r in repetitions]
        e2 = [single("e2", r) for r in repetitions]
        rows += [line("(d) sifter convert, destination up to date", d, False),
                 line("(e) sifter push of the SIF just built (digest remembered)", e, False),
                 line("sifter push of a copy (digest computed first)", e2, False),
                 line("curl -T of the same file (one PUT)", f, False)]
        targets += [f"(d) ≤ 1 s: {med(d, 'wall'):.2f} s",
                    f"(e) against curl's throughput: {med(f, 'wall') / med(e, 'wall'):.3f}× "
                    f"({sif_mb / med(e, 'wall'):.0f} MB/s against {sif_mb / med(f, 'wall'):.0f} MB/s); a copy of the SIF, "
                    f"which sifter must hash before it can ask the registry whether it has the blob: "
                    f"{med(f, 'wall') / med(e2, 'wall'):.3f}× ({sif_mb / med(e2, 'wall'):.0f} MB/s)"]

    reports = [load(f"b-report-{r}.json") for r in repetitions]
    timings = [r["timings"] for r in reports]
    stage = lambda name: median([t.get(name, 0) for t in timings])
    cores = os.cpu_count() or 1
    mksquashfs_cpu = median([row["child"].get("mksquashfs", 0) for row in b])
    layers = len(reports[0].get("layers", [])) or "all"
    read_while = median([r.get("layersReadWhileDownloading", 0) for r in reports])
    if any("resolve" in t for t in timings):
        download = (f"resolve {stage('resolve'):.2f} s; the layers downloaded in {stage('download'):.1f} s, read by the "
                    f"first pass as they arrived ({read_while:.0f} of them while still arriving)")
    else:
        download = f"resolve and download {stage('resolve+download'):.1f} s"
    breakdown = (f"{download}; metadata and layout {stage('prepare'):.1f} s; first pass (every layer read once on "
                 f"{cores} worker threads, largest first: headers indexed, digests and diff_ids checked) "
                 f"{stage('index'):.1f} s; second pass (the layers that contribute read again from the open blobs, "
                 f"streamed into mksquashfs) {stage('stream'):.1f} s, during which mksquashfs used "
                 f"{mksquashfs_cpu:.1f} s of CPU ({100 * mksquashfs_cpu / max(stage('stream') * cores, 1e-9):.0f}% of "
                 f"{cores} cores); SIF assembly (header, provenance, integrity record, whole-file hash) {stage('sif'):.1f} s")
    return f"""## Image `{kind}`: `{registry}/bench/image:{kind}`

Reference SIF {ref_sif_mb:.0f} MB; sifter's SIF {sif_mb:.0f} MB (both gzip, 128 KiB blocks).

| run | wall | ratio to (a) | user+sys CPU | peak RSS, main process | peak RSS, process tree | peak temporary disk |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

(a) in steps (median wall): {", ".join(f"{k} {median([r['steps'][k] for r in a]):.1f} s" for k in a[0]['steps'])}.
Temporary disk of (b) and (c) is the directory holding the output (the SIF is the only file written there);
the blob cache, kept between runs on purpose, held {cache_mb:.0f} MB after (b).

Targets: {"; ".join(targets)}.

Where (b)'s time goes (median): {breakdown}.
"""


cpu_model = "unknown"
try:
    for text in open("/proc/cpuinfo"):
        if text.startswith("model name"):
            cpu_model = text.split(":", 1)[1].strip()
            break
except OSError:
    pass
mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
print(f"""# Benchmarks

Measured by `integration/bench.sh` (BENCH_IMAGES="{' '.join(kinds)}", {reps} repetitions, alternating, medians).
Each image is served by a real registry (CNCF distribution) on 127.0.0.1.
Machine: {os.cpu_count()} cores ({cpu_model}), {mem_gb:.0f} GiB, {platform.system()} {platform.release()}.
""")
print("A fleet of images (sifter sync against loops of sifter build and of the reference pipeline) is measured by\n"
      "`integration/bench/fleet.sh`, in [BENCHMARKS-fleet.md](BENCHMARKS-fleet.md).\n")
for index, kind in enumerate(kinds):
    print(section(kind, with_push=index == 0))
if design:
    label = os.environ.get("BENCH_COMPARE_LABEL", "")
    print(f"""## The flatten design: two passes against {label}

| image | (b) against mksquashfs alone | (b′) against mksquashfs alone | (b) against (b′) | CPU of (b) minus (b′) |
|---|---|---|---|---|""")
    for kind, new, old, ratio, cpu in design:
        print(f"| `{kind}` | {new:.3f}× | {old:.3f}× | {ratio:.3f}× | {cpu:+.1f} s |")
    print("""
Why the two-pass stage stays (issue 18). The one-pass design streamed each member into mksquashfs while it
was still indexing, and gave up (throwing, then restarting mksquashfs on two passes) whenever an upper layer
could change what it had already sent: hard links into lower layers, a whiteout of something streamed, a
resumed download. The two-pass stage reads every layer once on worker threads to index it (headers, digest
and diff_id), then streams the surviving members; its strategy is fixed before mksquashfs starts. The price
is the first pass, which no later work can hide on this machine: mksquashfs keeps both cores busy for the
whole second pass, so the CPU the first pass spends (a second inflate of the layers that contribute) shows
in the wall time; on the `full` image the simpler design is slower by the ratio above. Where the one-pass
design had to fall back (`links`, hard links into lower layers, as in images that `RUN` a package manager
over files of a base layer), the two-pass stage is faster, by the same mechanism that makes it slower on
`full`: one fixed plan instead of a failed attempt and a restart. Neither design meets 1.05× on both
images here; the simpler one is within a few percent of it everywhere and never pays a restart.""")
