#!/usr/bin/env python3
"""Compares `sifter inspect --json` with the reference reader's view (`sifdump`) of one SIF.

Every field the reference exposes must be equal; sifter's extra fields (sizeWithPadding) are
checked for shape only. Exits 1 with the differing paths on mismatch."""
import json
import sys


def diff(ours, reference, path, problems):
    if isinstance(reference, dict):
        if not isinstance(ours, dict):
            problems.append(f"{path}: sifter has {ours!r}, reference has an object")
            return
        for key, value in reference.items():
            if key not in ours:
                problems.append(f"{path}.{key}: missing in sifter's output")
            else:
                diff(ours[key], value, f"{path}.{key}", problems)
    elif isinstance(reference, list):
        if not isinstance(ours, list) or len(ours) != len(reference):
            problems.append(f"{path}: sifter has {len(ours) if isinstance(ours, list) else ours!r} items, reference {len(reference)}")
            return
        for index, (a, b) in enumerate(zip(ours, reference)):
            diff(a, b, f"{path}[{index}]", problems)
    elif ours != reference or type(ours) is not type(reference):
        problems.append(f"{path}: sifter {ours!r} != reference {reference!r}")


def main():
    with open(sys.argv[1]) as f:
        ours = json.load(f)
    with open(sys.argv[2]) as f:
        reference = json.load(f)
    problems = []
    diff(ours, reference, "$", problems)
    for descriptor in ours.get("descriptors", []):
        if not isinstance(descriptor.get("sizeWithPadding"), int) or descriptor["sizeWithPadding"] < descriptor["size"]:
            problems.append(f"descriptor {descriptor.get('id')}: bad sizeWithPadding")
    if problems:
        print("\n".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
