#!/usr/bin/env python3
"""Validates SBOM documents with PyPI's reference libraries (the oracles of the SBOM tests):
SPDX 2.3 JSON with spdx-tools (parsed, then `validate_full_spdx_document`), CycloneDX 1.5 JSON
with cyclonedx-python-lib's strict JSON-schema validator; every purl in either must parse with
packageurl-python and be in its canonical form.
Usage: validate-sbom.py FILE...  The format is read from each document.
Exit status: 0 all valid, 1 one is not, 3 a validator is not installed (prints SKIP)."""
import json
import re
import sys

try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from packageurl import PackageURL
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
except ImportError as error:
    print(f"SKIP: SBOM validators not installed ({error}); integration/install-deps.sh installs them")
    sys.exit(3)


def purls(document):
    if "spdxVersion" in document:
        for package in document.get("packages", []):
            for reference in package.get("externalRefs", []):
                if reference.get("referenceType") == "purl":
                    yield reference["referenceLocator"]
    else:
        component = document.get("metadata", {}).get("component", {})
        for item in [component] + document.get("components", []):
            if "purl" in item:
                yield item["purl"]


def problems_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    document = json.loads(text)
    problems = []
    if document.get("spdxVersion") == "SPDX-2.3":
        # spdx-tools picks its parser by the file name.
        if not path.endswith(".json"):
            raise SystemExit(f"{path}: name an SPDX JSON file *.json")
        parsed = parse_file(path)
        problems += [message.validation_message for message in validate_full_spdx_document(parsed, "SPDX-2.3")]
    elif document.get("bomFormat") == "CycloneDX" and document.get("specVersion") == "1.5":
        error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
        if error is not None:
            problems.append(str(getattr(error, "data", error)).splitlines()[0])
    else:
        problems.append("neither SPDX 2.3 nor CycloneDX 1.5")
    for purl in purls(document):
        try:
            canonical = PackageURL.from_string(purl).to_string()
        except ValueError as error:
            problems.append(f"purl {purl}: {error}")
            continue
        # packageurl-python writes percent escapes in lower case, the spec in upper case.
        def escapes_upper(text):
            return re.sub(r"%[0-9a-fA-F]{2}", lambda match: match.group(0).upper(), text)
        if escapes_upper(canonical) != escapes_upper(purl):
            problems.append(f"purl {purl} is not canonical: {canonical}")
    return problems


failed = False
for path in sys.argv[1:]:
    problems = problems_of(path)
    if problems:
        failed = True
        print(f"{path}: {len(problems)} problems")
        for problem in problems[:20]:
            print(f"  {problem}")
    else:
        print(f"{path}: valid")
sys.exit(1 if failed else 0)
