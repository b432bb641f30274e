#!/usr/bin/env python3
"""Checks that Package.swift's target graph is the import graph: every target depends on exactly
the package targets its sources import (system modules, Foundation and ArgumentParser aside),
for source targets and test targets alike. Exits 1 listing the differences.
Usage: check-package-graph.py [PACKAGE_DIR]"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
package = open(os.path.join(root, "Package.swift")).read()
targets = {}
targets_text = {}
for match in re.finditer(r'\.(target|executableTarget|testTarget|systemLibrary)\(', package):
    # The call's text, up to its balanced closing parenthesis.
    depth, end = 0, match.end() - 1
    for end in range(match.end() - 1, len(package)):
        depth += {"(": 1, ")": -1}.get(package[end], 0)
        if depth == 0:
            break
    body = package[match.end():end]
    name = re.search(r'name: "(\w+)"', body).group(1)
    deps = re.search(r'dependencies: \[(.*?)\]', body, re.S)
    # Product dependencies of other packages (`.product(name: …)`) are not targets here.
    text = re.sub(r'\.product\([^)]*\)', "", deps.group(1)) if deps else ""
    targets[name] = (match.group(1), set(re.findall(r'"(\w+)"', text)))
    targets_text[name] = body

problems = []
for name, (kind, declared) in sorted(targets.items()):
    if kind == "systemLibrary":
        continue
    path = re.search(r'path: "([^"]+)"', targets_text[name])
    folder = os.path.join(root, path.group(1)) if path else os.path.join(root, "Tests" if kind == "testTarget" else "Sources", name)
    imported = set()
    for directory, _, files in os.walk(folder):
        for file in files:
            if file.endswith(".swift"):
                text = open(os.path.join(directory, file), encoding="utf-8").read()
                imported |= set(re.findall(r'^(?:@testable )?import (\w+)', text, re.M))
    imported &= set(targets)
    if imported != declared:
        problems.append(f"{name}: declares {sorted(declared - imported)} it does not import, "
                        f"imports {sorted(imported - declared)} it does not declare")
if problems:
    print("Package.swift's graph differs from the imports:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"package graph: {len(targets)} targets, dependencies equal imports")
