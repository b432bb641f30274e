#!/usr/bin/env python3
"""Test fixture: writes an OCI image layout with a multi-platform index, for seeding a registry
with `skopeo copy --all`. Python stdlib only, deterministic except for the random big layer.

  make-image.py DIR [--big-mib N] [--seed S] [--arm64-note TEXT]

Tag `latest`: an OCI index with linux/amd64, linux/arm64/v8 and a BuildKit-style attestation
entry (platform unknown/unknown, annotation vnd.docker.reference.type=attestation-manifest).
Tag `single`: the amd64 manifest alone. Each image has a small gzip layer and an uncompressed
layer of N MiB of random bytes (so downloads take many writes and can be cut in the middle).
With --seed the random bytes come from that seed (the same seed, the same images); --arm64-note
adds a file to the arm64 image only, so two layouts differ in that one platform.
Prints a JSON summary (digests, sizes) on stdout.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile


def put(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def descriptor(media_type, digest, size, **extra):
    d = {"mediaType": media_type, "digest": digest, "size": size}
    d.update(extra)
    return d


def image(layout, os_name, arch, variant, big_mib, seed=None, note=None):
    files = [("etc/platform", ("%s/%s\n" % (os_name, arch)).encode())]
    if note is not None:
        files.append(("etc/note", note.encode()))
    small = tar_of(files)
    small_gz = gzip.compress(small, mtime=0)
    noise = os.urandom(big_mib << 20) if seed is None else random.Random("%s-%s" % (seed, arch)).randbytes(big_mib << 20)
    big = tar_of([("data/random.bin", noise)])
    layers = [
        descriptor("application/vnd.oci.image.layer.v1.tar+gzip", put(layout, small_gz), len(small_gz)),
        descriptor("application/vnd.oci.image.layer.v1.tar", put(layout, big), len(big)),
    ]
    config = {"architecture": arch, "os": os_name, "rootfs": {"type": "layers", "diff_ids": [
        "sha256:" + hashlib.sha256(small).hexdigest(), "sha256:" + hashlib.sha256(big).hexdigest()]},
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]}}
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor("application/vnd.oci.image.config.v1+json", put(layout, config_bytes), len(config_bytes)),
                "layers": layers}
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    platform = {"os": os_name, "architecture": arch}
    if variant:
        platform["variant"] = variant
    return manifest, descriptor("application/vnd.oci.image.manifest.v1+json", put(layout, manifest_bytes), len(manifest_bytes),
                                platform=platform)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--big-mib", type=int, default=3)
    p.add_argument("--seed")
    p.add_argument("--arm64-note")
    args = p.parse_args()
    layout = args.dir
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    amd64, amd64_desc = image(layout, "linux", "amd64", None, args.big_mib, args.seed)
    arm64, arm64_desc = image(layout, "linux", "arm64", "v8", args.big_mib, args.seed, args.arm64_note)
    statement = b'{"_type":"https://in-toto.io/Statement/v0.1"}'
    empty_config = b"{}"
    attestation = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "config": descriptor("application/vnd.oci.image.config.v1+json", put(layout, empty_config), 2),
                   "layers": [descriptor("application/vnd.in-toto+json", put(layout, statement), len(statement))]}
    attestation_bytes = json.dumps(attestation).encode()
    attestation_desc = descriptor("application/vnd.oci.image.manifest.v1+json", put(layout, attestation_bytes),
                                  len(attestation_bytes), platform={"os": "unknown", "architecture": "unknown"},
                                  annotations={"vnd.docker.reference.type": "attestation-manifest",
                                               "vnd.docker.reference.digest": amd64_desc["digest"]})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [attestation_desc, amd64_desc, arm64_desc]}
    index_bytes = json.dumps(index, indent=2).encode()
    index_digest = put(layout, index_bytes)
    top = {"schemaVersion": 2, "manifests": [
        descriptor("application/vnd.oci.image.index.v1+json", index_digest, len(index_bytes),
                   annotations={"org.opencontainers.image.ref.name": "latest"}),
        dict(amd64_desc, annotations={"org.opencontainers.image.ref.name": "single"}),
    ]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(top, f)
    print(json.dumps({"index": index_digest, "amd64": amd64_desc, "arm64": arm64_desc,
                      "attestation": attestation_desc["digest"],
                      "amd64Layers": amd64["layers"], "arm64Layers": arm64["layers"],
                      "amd64Config": amd64["config"]}, indent=1))


if __name__ == "__main__":
    main()
