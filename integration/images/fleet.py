#!/usr/bin/env python3
"""Test fixture: an OCI layout of a fleet of small images that share one base layer, as the
images of one organisation share a distribution base. Python stdlib only, deterministic for a
given --seed and --version.

  fleet.py LAYOUT --images N [--base-mib M] [--seed S] [--version V]

Tag `app-K` (K = 1..N): the base layer (gzip: busybox-static as /bin/sh and /bin/busybox,
plus M MiB of seeded random bytes in /usr/share/base.bin), then a layer of its own
(/etc/app holding its name and V). Prints {"app-K": manifest digest, "base": base layer digest}.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile


def put(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = mode
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("layout")
    p.add_argument("--images", type=int, required=True)
    p.add_argument("--base-mib", type=int, default=1)
    p.add_argument("--seed", default="fleet")
    p.add_argument("--version", default="1")
    args = p.parse_args()
    os.makedirs(os.path.join(args.layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(args.layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    busybox = open("/bin/busybox", "rb").read()
    noise = random.Random(args.seed).randbytes(args.base_mib << 20)
    base = tar_of([("bin", None, 0), ("bin/busybox", busybox, 0o755), ("bin/sh", busybox, 0o755), ("usr", None, 0),
                   ("usr/share", None, 0), ("usr/share/base.bin", noise, 0o644)])
    base_gz = gzip.compress(base, compresslevel=1, mtime=0)
    base_desc = put(args.layout, base_gz)
    refs, summary = [], {"base": base_desc["digest"]}
    for k in range(1, args.images + 1):
        name = "app-%d" % k
        own = tar_of([("etc", None, 0), ("etc/app", ("%s %s\n" % (name, args.version)).encode(), 0o644)])
        config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                             "config": {"Entrypoint": ["/bin/sh"], "Env": ["PATH=/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(base).hexdigest(),
                                                                      "sha256:" + hashlib.sha256(own).hexdigest()]}},
                            sort_keys=True).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(args.layout, config)),
                               "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **base_desc),
                                          dict(mediaType="application/vnd.oci.image.layer.v1.tar", **put(args.layout, own))]},
                              sort_keys=True).encode()
        desc = put(args.layout, manifest)
        refs.append(dict(mediaType="application/vnd.oci.image.manifest.v1+json", annotations={"org.opencontainers.image.ref.name": name}, **desc))
        summary[name] = desc["digest"]
    with open(os.path.join(args.layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": refs}, f)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
